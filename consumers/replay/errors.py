"""Errors of the replay tools; each names the problem and the fix.

PipelineError (schemas.errors)
└── ReplayError
    ├── UnknownTopicError     the topic does not exist on the cluster
    ├── BadRangeError         --from/--to unparsable, or --to before --from
    ├── EmptyRangeError       the resolved range holds no records
    ├── FilterError           a --where clause is malformed or names an unknown field
    └── ActiveGroupError      offsets reset on a group that still has members
"""

from __future__ import annotations

from schemas.errors import PipelineError


class ReplayError(PipelineError):
    """Base class of the replay tools' errors."""


class UnknownTopicError(ReplayError):
    pass


class BadRangeError(ReplayError):
    pass


class EmptyRangeError(ReplayError):
    pass


class FilterError(ReplayError):
    pass


class ActiveGroupError(ReplayError):
    pass
