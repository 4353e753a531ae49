"""Apply a decision's actions to the content's visible state and reach.

Removal is sticky: a later automated decision (an edit, a report) never undoes it; only a
reviewer or an appeal does. Other effects are recomputed from the latest decision, so an edit
that cleans up a post also lifts its label or demotion.
"""

from __future__ import annotations

from tidebreak.model import ActionType, ContentState, Decision, EventType
from tidebreak.store.schema import ContentRow


def apply_to_content(row: ContentRow, decision: Decision, event_type: EventType) -> bool:
    """Update `row` in place; return True when this decision newly removed it.

    A human decision (EventType.REVIEW) replaces the item's state outright: it can restore what
    automation removed. Automated decisions never undo a removal."""
    if event_type == EventType.DELETE:
        row.state = ContentState.DELETED.value
        row.reach = 0.0
        return False
    if row.state == ContentState.DELETED.value:
        return False
    if row.state == ContentState.REMOVED.value and event_type != EventType.REVIEW:
        return False
    was_removed = row.state == ContentState.REMOVED.value
    types = {a.type for a in decision.actions}
    if ActionType.REMOVE in types:
        row.state, row.reach = ContentState.REMOVED.value, 0.0
        return not was_removed
    if event_type == EventType.REPORT and not decision.actions:
        return False  # a report that triggered nothing leaves the standing decision alone
    reach = 1.0
    for a in decision.actions:
        if a.type == ActionType.REDUCE and a.factor is not None:
            reach = min(reach, a.factor)
    # Information labels are shown like any label but restrict nothing: they leave the state alone.
    labels = [a.label for a in decision.actions if a.type == ActionType.LABEL and a.label]
    restricting_labels = [a for a in decision.actions if a.type == ActionType.LABEL and a.restricts]
    warnings = [a.label or "sensitive content" for a in decision.actions if a.type == ActionType.WARN]
    row.reach = reach
    row.labels = labels
    row.warning = warnings[0] if warnings else None
    if warnings:
        row.state = ContentState.WARNING.value
    elif reach < 1.0:
        row.state = ContentState.REDUCED.value
    elif restricting_labels:
        row.state = ContentState.LABELLED.value
    elif ActionType.REVIEW in types:
        row.state = ContentState.PENDING_REVIEW.value
    else:
        row.state = ContentState.VISIBLE.value
    return False
