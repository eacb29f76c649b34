"""The format ids and versions of every file nhkit reads and writes (the `format` and
`format_version` fields), in one place: the readers, the writers and the "this looks like..."
hint for a file handed to the wrong command all take them from here.

A new file format (e.g. hash lists) adds its id, version and description here."""

from __future__ import annotations

BUNDLE_FORMAT = "nhkit-bundle"
BUNDLE_VERSION = 1
SELFTEST_FORMAT = "nhkit-selftest"
SELFTEST_VERSION = 1
GOLDEN_FORMAT = "nhkit-golden"
GOLDEN_VERSION = 1
REPORT_FORMAT = "nhkit-device-report"
REPORT_VERSION = 1
HASHLIST_FORMAT = "nhkit-hashlist"
HASHLIST_VERSION = 1

# format id -> what a person would call such a file (for "this looks like ..." hints)
KNOWN_FORMATS: dict[str, str] = {
    GOLDEN_FORMAT: "an nhkit golden set",
    REPORT_FORMAT: "an nhkit device self-test report",
    BUNDLE_FORMAT: "a bundle manifest",
    SELFTEST_FORMAT: "a bundle's selftest/cases.json",
    HASHLIST_FORMAT: "a hash list's manifest.json",
}
