"""Deferred evidence: explanations people read, computed off the moderation hot path.

Occlusion spans (which words drove a harm score) cost one model pass per word, and only a person
reads them. Pipelines built by `tidebreak.runtime` therefore record a decision with its harm
signals marked `"spans_pending": true` (the decision's `evidence` is "pending"), and this package
computes the spans later, beside the decision (table `decision_evidence`; the recorded payload is
never rewritten), for what a person will look at:

- `pending`: decisions whose evidence is pending and that someone will open (an open review task
  on the item, an enforcement, an appeal), most urgent first;
- `fill`: computes them in batches under a time budget, one ledger entry per batch
  (`evidence.attached`); the server does it when idle, the worker after each batch, and
  `tidebreak evidence fill` on demand;
- `ensure`: one decision (or an item's decisions) now, when a person opens it before a filler
  got there;
- `attach`: the decision as a person should see it, stored spans merged into its signals.
"""

from tidebreak.evidence.attach import attach, attach_many
from tidebreak.evidence.fill import FillResult, ensure, ensure_content, fill, present
from tidebreak.evidence.selection import Pending, counts, pending

__all__ = ["FillResult", "Pending", "attach", "attach_many", "counts", "ensure",
           "ensure_content", "fill", "pending", "present"]
