// Where the inbox opens: the user's first inbox with open work, in the sidebar's order
// (I-LAND-1), else the first inbox (Assigned to me). Pure.
export const SIDEBAR_ORDER = ['my', 'care-team', 'all', 'unassigned', 'shared'];

export function sidebarGroup(view) {
  return view.group === 'shared' && view.name === 'unassigned' ? 'unassigned' : view.group;
}

export function sidebarViews(views) {
  return SIDEBAR_ORDER.flatMap((g) => views.filter((v) => sidebarGroup(v) === g));
}

export function landingView(views) {
  const ordered = sidebarViews(views);
  return ordered.find((v) => v.counts && v.counts.open > 0) || ordered[0] || null;
}

// Filters that mean nothing in a view (I-LAND-1): "Unassigned only" inside Unassigned (or
// in the user's own Assigned to me, where nothing is unassigned); reason and location in a
// custom shared inbox, whose conversations carry no labels (R-LABEL-1).
export function hiddenFilters(view) {
  if (!view) return [];
  if (sidebarGroup(view) === 'unassigned' || (view.group === 'my' && view.name === 'assigned')) {
    return ['unassigned_only'];
  }
  if (view.group === 'shared') return ['reason', 'location'];
  return [];
}
