"""Dead letters: per group totals, each letter decoded and masked, redrive after confirmation."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse

from consumers import dlq
from consumers.message import Record
from consumers.replay.decoding import Decoder
from consumers.replay.masking import mask
from deploy.console import runtime
from deploy.console.access import is_operator, operator_required
from deploy.console.views.common import audit
from schemas import registry
from schemas.errors import DeserializationError, PipelineError

SHOWN = 200


def dead_letters(request):
    view = runtime.overview()
    return render(request, "console/deadletters.html", {"view": view})


def _describe(letter: Record, decoder: Decoder | None) -> dict:
    out = dlq.describe(letter, None)
    if decoder is not None and letter.value() is not None:
        try:
            writer, value = decoder.decode(letter.value())
            out["event_type"] = writer.name
            out["event"] = mask(value, writer.pii_paths)
        except DeserializationError as exc:
            out["undecodable"] = str(exc)
    return out


def group_letters(request, group: str):
    settings = runtime.connections().settings
    context = {"group": group, "problem": None, "operator": is_operator(request.user)}
    try:
        context["summary"] = dlq.summary(settings, group, missing_ok=True)
        if context["summary"].exists:
            pending = {(r.partition(), r.offset())
                       for r in dlq.read(settings, group, pending_only=True, limit=SHOWN)}
            decoder = Decoder(registry.connect(settings))
            letters = []
            for letter in dlq.read(settings, group, limit=SHOWN):
                item = _describe(letter, decoder)
                item["pending"] = (letter.partition(), letter.offset()) in pending
                letters.append(item)
            context["letters"] = letters
    except PipelineError as exc:
        context["problem"] = str(exc)
    return render(request, "console/deadletter_group.html", context)


def redrive_confirm(request, group: str):
    """The confirmation step: what a redrive will do, with the button that does it."""
    count = "one" if request.GET.get("count") == "one" else "all"
    context = {"group": group, "count": count, "operator": is_operator(request.user),
               "problem": None}
    try:
        context["summary"] = dlq.summary(runtime.connections().settings, group)
    except PipelineError as exc:
        context["problem"] = str(exc)
    return render(request, "console/redrive_confirm.html", context)


@operator_required
def redrive(request, group: str):
    count = "one" if request.POST.get("count") == "one" else "all"
    if request.POST.get("confirm") != "yes":
        messages.error(request, "Confirm the redrive first; nothing was sent.")
        return redirect(reverse("redrive-confirm", args=[group]) + f"?count={count}")
    settings = runtime.connections().settings
    try:
        sent = dlq.redrive(settings, group, limit=1 if count == "one" else None)
    except PipelineError as exc:
        audit(request, "redrive", group, f"{count}: {exc}", "failed")
        messages.error(request, f"Redrive failed: {exc}")
        return redirect(reverse("deadletter-group", args=[group]))
    audit(request, "redrive", group, f"{count}: {sent} redriven", "ok")
    messages.success(request, f"{sent} dead letter(s) of {group} redriven to "
                              f"{group}.retry.1; the worker handles them again now.")
    return redirect(reverse("deadletter-group", args=[group]))
