// Staff members by name, not id, from the routing state's staff list (GET /api/admin/routing).
import { state } from './common.js';

export function staffName(id) {
  const s = (state.routing?.staff || []).find((x) => x.user_id === id);
  return s ? s.display_name : id;
}
