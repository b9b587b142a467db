"""Problems and results: the rule codes (:data:`RULES`), one :class:`Problem`, the
:class:`ParsedReturn` a file gives, and :class:`ReturnRefused`.

Every message the parser writes ends up in a :class:`Problem`; this module imports nothing else
of the package.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field

#: Plain descriptions of the rule codes a Problem can carry.
RULES = {
    "empty_file": "the file is empty",
    "not_a_return": "the file is neither a CSV text file nor an Excel workbook (.xlsx)",
    "old_excel_format": "an Excel 97-2003 workbook (.xls): save it as .xlsx or CSV",
    "unreadable_workbook": "the workbook could not be opened",
    "encoding_cp1252": "the text is not UTF-8 and was read as Windows-1252 (warning)",
    "csv_syntax": "a quote is opened and never closed",
    "no_rows": "the file has no data rows",
    "too_many_rows": "the file has more rows than allowed",
    "missing_columns": "required columns are missing from the header",
    "duplicate_column": "two columns have the same heading",
    "unknown_column": "a column heading is not recognised and the column is ignored (warning)",
    "too_many_fields": "a row has more cells than the header",
    "unheaded_cell": "a filled cell to the right of the last headed column is ignored (warning)",
    "required_blank": "a required cell is blank",
    "unknown_metric": "not a metric id in the registry",
    "unknown_area": "not a known DfE or GSS area code",
    "no_area": "no area given and no default area",
    "unreadable_period": "a period that cannot be read",
    "period_mismatch": "a period that does not fit the metric's period type",
    "period_in_future": "a period that ends after today",
    "period_too_early": "a period before the first year the metric can have figures for",
    "not_a_number": "a cell that must be a number is not one",
    "excel_error": "the cell holds an Excel error such as #DIV/0!",
    "percent_not_allowed": "a percentage given for a metric that is not a percentage",
    "out_of_range": "a number, or a value made from a numerator and denominator, too large to be real",
    "no_value": "neither a value nor a numerator and a denominator",
    "count_from_parts": "a count given as a numerator and a denominator",
    "negative": "a negative number",
    "zero_denominator": "a denominator of 0",
    "numerator_above_denominator": "a numerator above its denominator",
    "percent_above_100": "a percentage above 100",
    "value_mismatch": "the value does not match its numerator and denominator (warning)",
    "duplicate_row": "the same figure is given twice",
    "duplicate_month": "a month given twice in the monthly demand sheet",
    "month_gap": "a month missing between the first and last month of a monthly demand series",
    "breakdown_not_allowed": "a breakdown the metric does not have",
    "breakdown_value_missing": "a breakdown without a breakdown value",
    "unknown_breakdown_value": "not one of the breakdown's values",
    "breakdown_value_was_date": "Excel turned a breakdown value into a date; read back as the value (warning)",
    "agency_not_listed": "an agency the metric does not list (warning)",
    "breakdown_total": "breakdown rows do not add up to their total (warning)",
    "breakdown_denominators": "breakdown rows give different totals (warning)",
    "from_after_to": "a target's 'from' is after its 'to'",
    "target_overlap": "two targets for the same metric and agency overlap in time",
    "bad_tolerance_kind": "tolerance_kind is not 'absolute' or 'relative'",
    "bad_illustrative": "illustrative is not yes or no",
    "merged_cells": "merged cells in a workbook",
    "percent_as_fraction": "every percentage in a column is at most 1: fractions instead of percentages? (warning)",
    "mojibake": "text that was garbled by a wrong character encoding",
    "fractional_count": "a count of children (or of people) with a fraction",
    "internal_error": "the file could not be checked: a fault in the importer",
}

_MAX_SHOWN = 120  # characters of a cell shown in a problem


def _shown(text: str) -> str:
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _where(sheet: str | None, row: int) -> str:
    """A row as a message names it: "row 12" in a CSV, "sheet 'NELFT' row 12" in a workbook."""
    return f"row {row}" if sheet is None else f"sheet '{sheet}' row {row}"


@dataclass
class Problem:
    """One thing wrong with a return, said so that an analyst can find and fix it.

    ``row`` is the row number a person sees in Excel (the header is row 1); ``None`` for the
    whole file. ``column`` is the heading as written in the file. ``code`` is a stable rule
    code (keys of :data:`RULES`); ``rule`` says the same in words, with the specifics.
    """

    file: str
    sheet: str | None
    row: int | None
    column: str | None
    value: str
    rule: str
    severity: str = "error"  # "error" refuses the file; "warning" is shown but accepted
    suggestion: str | None = None  # e.g. "did you mean 'cp_rate_31mar'?"
    code: str = ""

    def __str__(self) -> str:
        where = [self.file]
        if self.sheet is not None:
            where.append(f"sheet '{self.sheet}'")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        if self.row is not None or self.column is not None or self.value:
            where.append(f"value {self.value!r}")
        text = f"{', '.join(where)}: {self.rule}"
        if self.suggestion:
            text += f"; {self.suggestion}"
        return text

    def to_dict(self) -> dict:
        return {**asdict(self), "message": str(self)}


@dataclass
class ParsedReturn:
    """A return read and checked: the rows and targets it gives, and every problem found.

    ``rows`` and ``targets`` hold only the entries that passed every check; when ``ok`` is
    False the caller must load none of them.
    """

    filename: str
    sha256: str
    size: int
    sheets: list[str] = field(default_factory=list)  # sheets read, in workbook order ([] for a CSV)
    rows: list[dict] = field(default_factory=list)
    targets: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    file_type: str = ""  # "csv" | "xlsx" | "" (not readable)
    encoding: str | None = None  # for a CSV: "utf-8", "utf-16" or "cp1252"
    skipped_sheets: list[str] = field(default_factory=list)  # readme/notes/instructions and empty sheets
    rows_read: int = 0  # rows of figures read (passed or not); len(rows) counts those that passed
    targets_read: int = 0  # target rows read (passed or not)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity != "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> dict:
        """Counts for a confirmation screen: rows per metric, and rows, targets and problems per sheet.

        Sheets are named as in the workbook; a CSV's single table is named by the file name.
        """
        per_metric: dict[str, int] = defaultdict(int)
        per_sheet: dict[str, dict[str, int]] = {}

        def sheet(name: str | None) -> dict[str, int]:
            return per_sheet.setdefault(name or self.filename, {"rows": 0, "targets": 0, "errors": 0, "warnings": 0})

        for name in self.sheets:
            sheet(name)
        for r in self.rows:
            per_metric[r["metric_id"]] += 1
            sheet(r["sheet"])["rows"] += 1
        for t in self.targets:
            sheet(t["sheet"])["targets"] += 1
        for p in self.problems:
            if p.sheet is not None or self.file_type == "csv":
                sheet(p.sheet)["errors" if p.severity == "error" else "warnings"] += 1
        return {
            "file": self.filename,
            "file_type": self.file_type,
            "sha256": self.sha256,
            "size": self.size,
            "accepted": self.ok,
            "rows": len(self.rows),
            "targets": len(self.targets),
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "per_metric": dict(sorted(per_metric.items())),
            "per_sheet": per_sheet,
        }

    def raise_if_refused(self) -> "ParsedReturn":
        """``self`` when there are no errors; otherwise raise :class:`ReturnRefused`."""
        if not self.ok:
            raise ReturnRefused(self)
        return self


class ReturnRefused(ValueError):
    """A return with errors: nothing of it may be loaded. ``.parsed`` holds every problem."""

    def __init__(self, parsed: ParsedReturn):
        self.parsed = parsed
        errors = parsed.errors
        shown = "\n".join(f"  - {p}" for p in errors[:20])
        more = f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(f"{parsed.filename} refused: {len(errors)} error(s)\n{shown}{more}")
