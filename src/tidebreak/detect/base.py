"""The one interface every detector implements, and the registry that names them.

A detector turns a batch of items into signals, one list per item, in order. Batches let model
detectors amortise inference; rule-like detectors simply loop. Plug-ins offer detectors by name
(`tidebreak_detectors`; the built-ins in tidebreak.plugins.builtin) so configuration and
policies can refer to them.

Evidence that is costly and only read by people (the harm detector's occlusion spans) may be
deferred: the detector marks such a signal's evidence `"spans_pending": true` and implements
`Explainer`, and `tidebreak.evidence` asks it later, in batches, for what a person will look at.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, NamedTuple, Protocol, Sequence, runtime_checkable

from tidebreak.model import Item, Signal


@runtime_checkable
class Detector(Protocol):
    name: str
    version: str

    def detect(self, items: Sequence[Item]) -> list[list[Signal]]:
        """Return, for each item in order, the signals it raised (possibly none)."""
        ...


def warm_up_item(text: str) -> Item:
    """An item for a detector's optional `warm_up()` (never stored or decided). A detector that
    loads part of itself on first use (a model behind a gate) does it in `warm_up`, which a
    server calls before serving, so the first post that needs it does not stall its batch."""
    from tidebreak.model import Content, ContentKind
    from tidebreak.text import normalise

    return Item(Content(id="warm-up", kind=ContentKind.POST, text=text), normalise(text))


SPANS_PENDING = "spans_pending"  # evidence key: spans are deferred, `Explainer.explain_later` gives them


TEXT_DIGEST = "text_sha256"  # evidence key: which text a deferred explanation must be computed on


def text_digest(text: str) -> str:
    """Short fingerprint of the text a detector read, kept with deferred evidence so spans are
    never computed on a text edited since (they would point at words the model never saw)."""
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def spans_pending(evidence: Mapping[str, Any] | None) -> bool:
    """True when a signal's evidence still waits for its deferred spans."""
    return bool(evidence) and bool(evidence.get(SPANS_PENDING))  # type: ignore[union-attr]


class EvidenceRequest(NamedTuple):
    """One deferred explanation: the text the detector read (`Item.norm.text`) and a category."""

    text: str
    category: str


@runtime_checkable
class Explainer(Protocol):
    """Optional, beside `Detector`: a detector that defers evidence computes it on request.
    `explain_later` returns, per request in order, the spans (`{"text", "start", "end",
    "weight"}`, offsets into the request's text) the detector would have given inline."""

    name: str
    version: str

    def explain_later(self, requests: Sequence[EvidenceRequest]) -> list[list[dict[str, Any]]]:
        ...


# What a plug-in offers for each detector name (tidebreak.hookspecs.tidebreak_detectors);
# tidebreak.runtime.create_detector builds one by name.
DetectorFactory = Callable[..., Detector]
