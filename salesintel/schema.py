"""The canonical data model: 13 tables a user loads, plus the system tables salesintel keeps.

Everything else derives from the declarations here: the DDL the store creates
(:func:`ibis_schema`), the validation ingestion applies (types, required columns,
allowed values, keys) and docs/schema.md (:func:`markdown`).

Example:
    >>> TABLES["orders"].key
    ('order_id', 'line')
    >>> TABLES["customers"].column("status").allowed
    ('customer', 'prospect', 'lost')
"""

from __future__ import annotations

from dataclasses import dataclass, field

from salesintel.lazy import lazy

ibis = lazy("ibis")
sch = lazy("ibis.expr.schema")

SCHEMA_VERSION = 3

# Column types, as salesintel names them, and the Ibis type each becomes in the store.
IBIS_TYPES = {
    "string": "string",
    "int": "int64",
    "float": "float64",
    "bool": "boolean",
    "timestamp": "timestamp",
    "date": "date",
    "json": "string",
}


@dataclass(frozen=True)
class Column:
    """One column: its type, whether a row needs it, its default and its allowed values."""

    name: str
    type: str
    description: str
    required: bool = False
    default: str | int | float | None = None
    allowed: tuple[str, ...] | None = None
    references: str | None = None  # "table.column" this column points to (orphans are counted, not refused)

    def __post_init__(self) -> None:
        if self.type not in IBIS_TYPES:
            raise ValueError(f"column {self.name}: unknown type {self.type!r}")


@dataclass(frozen=True)
class Table:
    """A table: its columns in order, its key and a one-line description.

    ``person_key`` names the column that says whose row it is (every table with a customer_id says it), so
    that export and erasure of a person (:mod:`salesintel.privacy`) need no list of tables.
    """

    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    system: bool = False
    checks: tuple[str, ...] = field(default=())  # row rules beyond single columns, see ingest.validate
    person_key: str | None = None  # the column naming the customer a row belongs to (salesintel.privacy)
    person_text: tuple[str, ...] = ()  # columns whose raw text may carry anyone's data (searched on erasure)

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


def _c(name: str, type_: str, description: str, **kw) -> Column:
    return Column(name, type_, description, **kw)


def _req(name: str, type_: str, description: str, **kw) -> Column:
    return Column(name, type_, description, required=True, **kw)


CANONICAL: tuple[Table, ...] = (
    Table(
        "customers",
        "Customers and prospects, one row each; prospects carry status prospect.",
        (
            _req("customer_id", "string", "Your identifier of the customer or prospect."),
            _c(
                "status",
                "string",
                "customer, prospect or lost.",
                default="customer",
                allowed=("customer", "prospect", "lost"),
            ),
            _c("name", "string", "Person or company name."),
            _c("email", "string", "E-mail address."),
            _c("phone", "string", "Phone number."),
            _c("birth_year", "int", "Year of birth (for age bands)."),
            _c("gender", "string", "Gender as recorded (free text, e.g. f, m, d)."),
            _c("country", "string", "Country."),
            _c("region", "string", "Region or state."),
            _c("city", "string", "City."),
            _c("postal_code", "string", "Postal code."),
            _c("created_at", "timestamp", "When the customer or prospect was first recorded."),
            _c("source", "string", "Where they came from (referral, web, trade fair, ad ...)."),
            _c("owner_id", "string", "The rep who owns the relationship.", references="reps.rep_id"),
            _c("email_opt_in", "bool", "May be contacted by e-mail."),
            _c("phone_opt_in", "bool", "May be contacted by phone."),
        ),
        key=("customer_id",),
        person_key="customer_id",
    ),
    Table(
        "products",
        "The product catalogue.",
        (
            _req("product_id", "string", "Your product identifier (SKU)."),
            _req("name", "string", "Product name."),
            _c("category", "string", "Product category."),
            _c("price", "float", "List price per unit."),
            _c("tier", "int", "Premium level within the category; higher is more premium."),
            _c("keywords", "string", "';'-separated aliases used to find the product in text."),
            _c("description", "string", "Free-text description."),
        ),
        key=("product_id",),
    ),
    Table(
        "orders",
        "Order lines: one row per product in an order; negative amounts are refunds.",
        (
            _req("order_id", "string", "Order identifier."),
            _c("line", "int", "Line number within the order.", default=1),
            _req("customer_id", "string", "Who ordered.", references="customers.customer_id"),
            _req("product_id", "string", "What was ordered.", references="products.product_id"),
            _req("ordered_at", "timestamp", "When the order was placed."),
            _c("quantity", "float", "Units ordered.", default=1),
            _req("amount", "float", "Line revenue in your currency; negative for a refund."),
            _c("channel", "string", "Sales channel (web, store, phone, partner ...)."),
            _c("campaign_id", "string", "Campaign the order is attributed to.", references="campaigns.campaign_id"),
            _c("location_id", "string", "Store or branch.", references="locations.location_id"),
        ),
        key=("order_id", "line"),
        person_key="customer_id",
    ),
    Table(
        "touchpoints",
        "Every other event: page views, e-mail opens and clicks, calls, meetings, form submissions, visits.",
        (
            _req("event_id", "string", "Unique event identifier."),
            _req("occurred_at", "timestamp", "When it happened."),
            _req(
                "type",
                "string",
                "page_view, email_open, email_click, call, meeting, form_submit, ad_click, "
                "store_visit ... (free text).",
            ),
            _c("customer_id", "string", "Known customer or prospect.", references="customers.customer_id"),
            _c("anonymous_id", "string", "Cookie or device id when the customer is unknown."),
            _c("channel", "string", "Channel of the event."),
            _c("campaign_id", "string", "Campaign behind the event.", references="campaigns.campaign_id"),
            _c("product_id", "string", "Product the event concerns.", references="products.product_id"),
            _c("url", "string", "Page address for web events."),
            _c("properties", "json", "Further attributes as a JSON object."),
        ),
        key=("event_id",),
        checks=("customer_or_anonymous",),
        person_key="customer_id",
        person_text=("url", "properties"),
    ),
    Table(
        "communications",
        "E-mails, call transcripts, chats, meetings notes and social messages.",
        (
            _req("message_id", "string", "Message identifier."),
            _c("customer_id", "string", "Customer the message is with.", references="customers.customer_id"),
            _req("occurred_at", "timestamp", "When it was sent or held."),
            _req(
                "channel",
                "string",
                "email, call, chat, meeting or social.",
                allowed=("email", "call", "chat", "meeting", "social"),
            ),
            _c("direction", "string", "inbound or outbound.", allowed=("inbound", "outbound")),
            _c("rep_id", "string", "Rep on our side.", references="reps.rep_id"),
            _c("subject", "string", "Subject line."),
            _req("text", "string", "Body or transcript."),
        ),
        key=("message_id",),
        person_key="customer_id",
        person_text=("subject", "text"),
    ),
    Table(
        "survey_responses",
        "Answers to surveys, e-mail polls, mystery shopping and public or competitor ratings; one row per question.",
        (
            _req("response_id", "string", "Response identifier (unique per question answered)."),
            _req("survey_id", "string", "Survey identifier."),
            _c(
                "kind",
                "string",
                "customer, email, mystery_shop, public or competitor.",
                allowed=("customer", "email", "mystery_shop", "public", "competitor"),
            ),
            _c("customer_id", "string", "Respondent, when known.", references="customers.customer_id"),
            _req("responded_at", "timestamp", "When it was answered."),
            _req("question", "string", "Question text or code."),
            _c("score", "float", "Numeric answer."),
            _c("answer", "string", "Free-text answer."),
            _c("subject", "string", "What was rated: company, a product_id, a location_id or a competitor_id."),
        ),
        key=("response_id",),
        person_key="customer_id",
        person_text=("answer",),
    ),
    Table(
        "campaigns",
        "Marketing and sales campaigns.",
        (
            _req("campaign_id", "string", "Campaign identifier."),
            _c("name", "string", "Campaign name."),
            _c("channel", "string", "Channel (email, phone, ads, mail ...)."),
            _req("starts_on", "date", "First day."),
            _c("ends_on", "date", "Last day."),
            _c("cost", "float", "Total cost."),
            _c("product_id", "string", "Product promoted.", references="products.product_id"),
            _c("segment", "string", "Target segment."),
        ),
        key=("campaign_id",),
    ),
    Table(
        "campaign_exposures",
        "Who was exposed to which campaign, and whether they were held out as control.",
        (
            _req("campaign_id", "string", "Campaign.", references="campaigns.campaign_id"),
            _req("customer_id", "string", "Customer.", references="customers.customer_id"),
            _req("exposed_at", "timestamp", "When they were exposed (or would have been, for control)."),
            _c("group", "string", "treatment or control.", default="treatment", allowed=("treatment", "control")),
        ),
        key=("campaign_id", "customer_id"),
        person_key="customer_id",
    ),
    Table(
        "opportunities",
        "Deals in the sales pipeline.",
        (
            _req("opportunity_id", "string", "Opportunity identifier."),
            _req("customer_id", "string", "Customer or prospect.", references="customers.customer_id"),
            _c("product_id", "string", "Main product.", references="products.product_id"),
            _c("owner_id", "string", "Rep who owns the deal.", references="reps.rep_id"),
            _req("created_at", "timestamp", "When the deal was opened."),
            _c("closed_at", "timestamp", "When it was won or lost."),
            _c("stage", "string", "Pipeline stage (free text)."),
            _c("amount", "float", "Expected or final value."),
            _c("outcome", "string", "open, won or lost.", allowed=("open", "won", "lost")),
            _c("competitor_id", "string", "Competitor in the deal.", references="competitors.competitor_id"),
            _c("reason", "string", "Why it was won or lost."),
        ),
        key=("opportunity_id",),
        person_key="customer_id",
        person_text=("reason",),
    ),
    Table(
        "competitors",
        "Competitors, with the names customers use for them.",
        (
            _req("competitor_id", "string", "Competitor identifier."),
            _req("name", "string", "Name."),
            _c("aliases", "string", "';'-separated other names used in text."),
        ),
        key=("competitor_id",),
    ),
    Table(
        "reps",
        "Sales reps, managers and analysts.",
        (
            _req("rep_id", "string", "Rep identifier."),
            _req("name", "string", "Name."),
            _c("email", "string", "E-mail address."),
            _c("territory", "string", "Territory (matches customers.region)."),
            _c(
                "role",
                "string",
                "rep, manager, analyst or admin.",
                default="rep",
                allowed=("rep", "manager", "analyst", "admin"),
            ),
        ),
        key=("rep_id",),
    ),
    Table(
        "locations",
        "Stores, branches or other places where sales happen.",
        (
            _req("location_id", "string", "Location identifier."),
            _c("name", "string", "Name."),
            _c("region", "string", "Region."),
            _c("city", "string", "City."),
        ),
        key=("location_id",),
    ),
    Table(
        "indicators",
        "Market and macro-economic series, one value per indicator and date.",
        (
            _req("indicator", "string", "Series name."),
            _req("date", "date", "Period the value belongs to."),
            _req("value", "float", "Value."),
        ),
        key=("indicator", "date"),
    ),
)

SYSTEM: tuple[Table, ...] = (
    Table(
        "rejects",
        "Every row ingestion refused, with where it came from and why; one row per problem found.",
        (
            _req("table_name", "string", "Table the row was meant for."),
            _req("source_file", "string", "File it came from."),
            _req("line", "int", "Line in the file (the header is line 1)."),
            _c("column_name", "string", "Column with the problem (empty for row-level problems)."),
            _c("value", "string", "The offending value as read."),
            _req("reason", "string", "Why it was refused."),
            _c(
                "record",
                "json",
                "The row as this table received it, as JSON: each of its columns' text (after the mapping, if one "
                "was used), so it can be fixed and loaded into the table again.",
            ),
            _req("rejected_at", "timestamp", "When."),
            _c("load_id", "string", "The load that refused it (loads.load_id)."),
            _c(
                "row_key",
                "string",
                "The row's key as read, e.g. 'O1, 1' (empty when the key itself is bad, or the line did not split "
                "into the file's fields).",
            ),
            _c(
                "closed_by",
                "string",
                "The later load that resolved it: stored the same key, or loaded the same table from the same "
                "file or the same content; empty while the problem is open.",
            ),
        ),
        key=("load_id", "line", "column_name"),
        system=True,
        person_text=("value", "record"),
    ),
    Table(
        "loads",
        "One row per file loaded: counts of what happened.",
        (
            _req("load_id", "string", "Load identifier."),
            _req("table_name", "string", "Target table."),
            _req("source_file", "string", "File loaded."),
            _req("loaded_at", "timestamp", "When."),
            _c("rows_read", "int", "Rows read from the file."),
            _c("inserted", "int", "New keys stored (empty, as are the next two, when the load was refused)."),
            _c("updated", "int", "Existing keys replaced with different values."),
            _c("unchanged", "int", "Existing keys loaded again with identical values."),
            _c("rejected", "int", "Rows refused (see rejects)."),
            _c(
                "orphans",
                "int",
                "Unknown references among the rows this load stored (customer, product ...); a row with two "
                "unknown references counts twice (the load summary gives them per column).",
            ),
            _c("content_sha256", "string", "SHA-256 of the file's bytes: the same content under another name."),
        ),
        key=("load_id",),
        system=True,
    ),
    Table(
        "analysis_runs",
        "One row per analysis run: when, with which parameters, what it produced.",
        (
            _req("run_id", "string", "Run identifier."),
            _req("analysis", "string", "Registered analysis name."),
            _req("started_at", "timestamp", "Start."),
            _c("finished_at", "timestamp", "End."),
            _c("seconds", "float", "Duration."),
            _c("params", "json", "Parameters as JSON."),
            _c("row_counts", "json", "Rows per result table as JSON."),
            _c("as_of", "date", "The date the data was analysed as of."),
            _c(
                "status",
                "string",
                "ok, skipped (not enough data), fallback (a documented fallback was used) or failed.",
                allowed=("ok", "skipped", "fallback", "failed"),
            ),
            _c("note", "string", "Why it was skipped, which fallback was used, or the error."),
            _c("pruned", "bool", "The run's results were dropped to keep only the newest runs."),
        ),
        key=("run_id",),
        system=True,
    ),
    Table(
        "custom_attributes",
        "Columns a user's export carried beyond the canonical ones, kept as typed columns of their table.",
        (
            _req("table_name", "string", "Table the attribute belongs to (customers, products, opportunities)."),
            _req("column_name", "string", "Column name in the store."),
            _req("type", "string", "string, int, float, bool, timestamp or date."),
            _c("source_column", "string", "The column's name in the file it first came from."),
            _c("source_file", "string", "That file."),
            _req("added_at", "timestamp", "When it was first loaded."),
        ),
        key=("table_name", "column_name"),
        system=True,
    ),
    Table(
        "models",
        "Fitted models, kept so that scoring later or in another process needs no refit.",
        (
            _req("model_id", "string", "Model identifier."),
            _req("name", "string", "What the model is for (e.g. bgnbd, gamma_gamma)."),
            _req("kind", "string", "The estimator class."),
            _c("analysis", "string", "Analysis whose run fitted it."),
            _c("run_id", "string", "That run."),
            _req("as_of", "date", "Data up to this date was used."),
            _req("fitted_at", "timestamp", "When it was fitted."),
            _c(
                "fingerprint",
                "json",
                "Row counts and sums of the data it was fitted on (a refit is due when they change).",
            ),
            _req("artifact", "json", "Hyper-parameters and learned state, enough to load it exactly."),
            _c("metadata", "json", "Training metadata: data window, row counts, metrics, library versions."),
            _c("stale", "bool", "Set when data it was trained on changed or was erased; refit on the next run."),
        ),
        key=("model_id",),
        system=True,
    ),
    Table(
        "tasks",
        "The win-back worklist: one task per customer to contact.",
        (
            _req("task_id", "string", "Task identifier."),
            _req("customer_id", "string", "Customer to contact."),
            _c("assigned_to", "string", "Rep who works the task."),
            _c("reason", "string", "Why the customer is on the list, in words."),
            _c("suggested_channel", "string", "phone, email or survey."),
            _req("created_at", "timestamp", "When the task was created."),
            _c("due_on", "date", "When it should be done."),
            _req("status", "string", "open, done or skipped.", allowed=("open", "done", "skipped")),
            _c(
                "outcome",
                "string",
                "reactivated, promised, no_answer or lost.",
                allowed=("reactivated", "promised", "no_answer", "lost"),
            ),
            _c("notes", "string", "Free-text notes."),
            _c("completed_at", "timestamp", "When the outcome was recorded."),
            _c("value_at_risk", "float", "Yearly value at risk when the task was created."),
        ),
        key=("task_id",),
        person_key="customer_id",
        person_text=("notes",),
        system=True,
    ),
    Table(
        "erasures",
        "One row per person erased: when, by whom and how many rows went where; never who was erased.",
        (
            _req("erasure_id", "string", "Erasure identifier (the receipt to give the person who asked)."),
            _req("erased_at", "timestamp", "When."),
            _c("erased_by", "string", "Who ran it (--by, else the operating-system user)."),
            _req(
                "key_kind",
                "string",
                "How the person was named: customer_id or email.",
                allowed=("customer_id", "email"),
            ),
            _c("customers", "int", "How many customer rows the key matched."),
            _c("tables", "json", "Tables rows were removed from, as a JSON list."),
            _c("rows_removed", "json", "Rows removed per table as a JSON object."),
            _c("models_stale", "int", "Kept models marked stale (refitted by the next run)."),
        ),
        key=("erasure_id",),
        system=True,
    ),
)

TABLES: dict[str, Table] = {t.name: t for t in CANONICAL + SYSTEM}
CANONICAL_NAMES: tuple[str, ...] = tuple(t.name for t in CANONICAL)


def get(name: str) -> Table:
    """The table called ``name``; raises :class:`~salesintel.errors.UnknownTable` with the choices."""
    from salesintel.errors import UnknownTable

    try:
        return TABLES[name]
    except KeyError:
        raise UnknownTable(f"unknown table {name!r}; choose one of: {', '.join(CANONICAL_NAMES)}") from None


def ibis_schema(table: Table) -> sch.Schema:
    """The Ibis schema the store creates for ``table`` (all columns nullable; validation enforces required)."""
    return ibis.schema({c.name: IBIS_TYPES[c.type] for c in table.columns})


def markdown() -> str:
    """docs/schema.md, generated from the declarations above."""
    out = [
        "# The salesintel data model",
        "",
        "Generated from `salesintel/schema.py` by `salesintel schema --markdown`; do not edit by hand.",
        "Columns marked * are required; the others are optional and may be missing from a file.",
        "Timestamps are ISO-8601 (date or date-time, an offset is converted to UTC); booleans accept",
        "true/false/1/0/yes/no in any case. A row referencing an unknown customer, product ... is kept and",
        "counted as an orphan.",
        "",
    ]
    for group, tables in (
        ("Canonical tables (you load these)", CANONICAL),
        ("System tables (salesintel keeps these)", SYSTEM),
    ):
        out += [f"## {group}", ""]
        for t in tables:
            out += [
                f"### {t.name}",
                "",
                t.description,
                "",
                f"Key: {', '.join(t.key)}",
                "",
                *([f"Person key: {t.person_key} (see docs/privacy.md)", ""] if t.person_key else []),
                "| column | type | description |",
                "| --- | --- | --- |",
            ]
            for c in t.columns:
                extra = []
                if c.allowed:
                    extra.append("one of " + ", ".join(c.allowed))
                if c.default is not None:
                    extra.append(f"default {c.default}")
                if c.references:
                    extra.append(f"refers to {c.references}")
                note = f" ({'; '.join(extra)})" if extra else ""
                out.append(f"| {c.name}{'*' if c.required else ''} | {c.type} | {c.description}{note} |")
            out.append("")
    return "\n".join(out)
