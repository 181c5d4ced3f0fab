"""The public API: every name documented, the type stubs shipped; the
stubs' agreement with the module is checked by mypy's stubtest in
python/ci.sh."""

from __future__ import annotations

import inspect
from pathlib import Path

import phx_redact
import phx_redact.logging


def test_every_public_name_method_and_property_has_a_docstring():
    missing = []
    for name in phx_redact.__all__:
        obj = getattr(phx_redact, name)
        if name == "RULESET_VERSION":
            assert isinstance(obj, str) and obj
            continue
        if not (obj.__doc__ or "").strip():
            missing.append(name)
        if inspect.isclass(obj) and not issubclass(obj, Exception):
            for attr, value in vars(obj).items():
                if not attr.startswith("_") and not (getattr(value, "__doc__", "") or "").strip():
                    missing.append(f"{name}.{attr}")
    filt = phx_redact.logging.RedactingFilter
    for obj in (phx_redact, phx_redact.logging, filt, filt.filter):
        if not (obj.__doc__ or "").strip():
            missing.append(obj.__name__)
    assert missing == []


def test_signatures_show_the_keyword_options():
    assert str(inspect.signature(phx_redact.redact)) == (
        "(data, *, include_public=False, patterns=(), posthog_hosts=(), marker='default')"
    )
    assert str(inspect.signature(phx_redact.check_stream)) == (
        "(reader, *, path=None, include_public=False, patterns=(), posthog_hosts=(), "
        "verify=False, posthog_urls=None, verify_timeout=10.0)"
    )
    assert str(inspect.signature(phx_redact.check)) == (
        "(path, *, include_public=False, patterns=(), posthog_hosts=(), verify=False, "
        "posthog_urls=None, verify_timeout=10.0)"
    )


def test_the_stubs_and_py_typed_are_installed():
    package = Path(phx_redact.__file__).parent
    assert (package / "py.typed").is_file()
    stubs = (package / "_native.pyi").read_text()
    for name in phx_redact.__all__:
        assert name in stubs, name
