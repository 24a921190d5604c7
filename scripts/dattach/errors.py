"""Errors the CLI turns into one line and an exit status.

Each error class carries its exit status so the CLI needs no table of its
own, and callers can tell "the tree is not for us" from "a tool broke".
"""

import enum


class ExitStatus(enum.IntEnum):
	OK = 0
	REFUSED = 1		# the tree cannot or must not be converted
	USAGE = 2		# bad command line or bad input (no such tree, ...)
	TOOL_FAILURE = 3	# spatch, git, apt-get, tar failed
	CHECK_FAILED = 4	# the result failed a check (git am, checkpatch, build)


class DattachError(Exception):
	"""An error with a one-line message; subclasses fix the exit status."""

	status: ExitStatus = ExitStatus.TOOL_FAILURE


class RefusedError(DattachError):
	status = ExitStatus.REFUSED


class BadInputError(DattachError):
	status = ExitStatus.USAGE


class ToolError(DattachError):
	status = ExitStatus.TOOL_FAILURE


class CheckFailedError(DattachError):
	"""The result failed a check it must pass before it is written."""
	status = ExitStatus.CHECK_FAILED
