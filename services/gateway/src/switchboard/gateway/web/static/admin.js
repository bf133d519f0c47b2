import { el, startPage } from './api.js';

const { user, app } = await startPage();
app.append(el('p', {}, `Signed in to ${user.practice_id}.`));
