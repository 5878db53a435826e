from __future__ import annotations

import contextlib
import warnings

# When a property test fails, Hypothesis imports libcst to print the failing example; libcst's import emits
# DeprecationWarnings (mypy_extensions.TypedDict) that filterwarnings=error turns into a pytest INTERNALERROR,
# hiding the failure. Importing it here, quietly, keeps failures readable.
with warnings.catch_warnings(), contextlib.suppress(ImportError):
    warnings.simplefilter("ignore", DeprecationWarning)
    import libcst.metadata.type_inference_provider  # noqa: F401
