"""The model card of a GitHub Release, rendered from a version's tag metadata."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from champion.render.escape import md
from champion.render.figures import figure
from champion.render.markdown import NONE


@cache
def _template() -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    text = (resources.files("champion") / "templates" / "release.md.j2").read_text(encoding="utf-8")
    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False).from_string(text)


def model_card(model: str, description: str, meta: dict[str, Any]) -> str:
    artifact = meta.get("artifact") or {}
    data = meta.get("data") or {}
    pull = meta.get("pull_request") or {}
    pull_text = ""
    if isinstance(pull.get("number"), int) and str(pull.get("url", "")).startswith("https://"):
        pull_text = f"[pull request #{pull['number']}]({pull['url']})"
    metrics = [
        {
            "name": md(name),
            "champion": figure(v.get("champion"), missing=NONE),
            "candidate": figure(v.get("candidate"), missing=NONE),
            "delta": figure(v.get("delta"), True, NONE),
        }
        for name, v in sorted((meta.get("metrics") or {}).items())
        if isinstance(v, dict)
    ]
    text = _template().render(
        model=md(model),
        version=md(meta.get("version", "")),
        description=md(description or ""),
        bump=md(meta.get("bump") or "initial"),
        previous=md(meta.get("parent") or "none"),
        reason=md(meta.get("bump_reason", "")),
        pull=pull_text,
        metrics=metrics,
        artifact=f"{md(artifact.get('path', ''))} ({int(artifact.get('size', 0))} bytes, {md(artifact.get('tracked_by', ''))})",
        sha256=md(artifact.get("sha256", "")),
        data=f"{md(data.get('path', ''))}, sha256 `{md(str(data.get('sha256', ''))[:16])}`"
        if data
        else "not evaluated",
        commit=md(meta.get("commit", "")),
        gate=_gate(meta.get("gate")),
    )
    return str(text).strip() + "\n"


def _gate(gate: Any) -> str:
    """The gate's verdict at release, and whether the version went live because of it."""
    if not isinstance(gate, dict):
        return ""
    stage = md(str(gate.get("stage") or ""))
    verdict = gate.get("verdict")
    if verdict == "none":
        return f"no gate was judged ({md(str(gate.get('note') or ''))}); promoted to {stage} as is"
    against = (
        f"{stage}'s {md(str(gate['against']))}"
        if gate.get("against")
        else "no champion (first version)"
    )
    reasons = "; ".join(md(str(r)) for r in gate.get("reasons") or [])
    why = f": {reasons}" if reasons else ""
    if verdict == "passed":
        return f"✅ passed against {against}{why}; promoted to {stage}"
    override = gate.get("override")
    if isinstance(override, dict) and gate.get("promoted"):
        return (
            f"⚠️ failed against {against}{why}. **Promoted to {stage} all the same**: "
            f"overridden by {md(str(override.get('by', '')))} ({md(str(override.get('reason', '')))})"
        )
    return f"❌ failed against {against}{why}. **Not promoted to {stage}.**"
