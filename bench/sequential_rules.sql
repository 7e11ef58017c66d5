-- Hand-written DuckDB SQL of salesintel's sequential rules (docs/definitions.md), the peer of
-- salesintel.analyses.sequential_rules in bench/rules.py (run by bench/sequential_sql.py).
--
-- Rules by product; the parameters in braces are filled in by bench/sequential_sql.py:
--   {next_day}    the timestamp just after the as-of date (orders before it count)
--   {last_full}   the last day number (days since 1970-01-01) a first A may fall on and keep a full window
--   {window}      the window in days
--   {min_customers}, {min_lift}   the support and lift floors
--   {coded}       the coded first purchases the pair count reads (seq_coded, or salesintel's own table
--                 when the pair-count stage alone is compared)
-- Day numbers are integers, customers and products integer codes, so every join and group-by hashes
-- small integers; (product, product) and (product, month) keys fit DuckDB's perfect hash table. Counts
-- are COUNT(*) FILTER, never SUM(CAST(... AS INT)) (DuckDB sums integers as 128-bit HUGEINTs), and the
-- overlap of the baseline is counted once per unordered pair. Each statement reads tables only (no CTE is
-- scanned twice: DuckDB would materialise it). bench/sequential_sql.py runs them with
-- preserve_insertion_order off (CREATE TABLE AS in parallel; ORDER BY is still kept).

-- name: customers
-- Dense integer codes of the customers with a positive order line by the as-of date.
CREATE OR REPLACE TEMP TABLE seq_customers AS
SELECT customer_id, CAST(row_number() OVER () AS INTEGER) AS code
FROM (SELECT DISTINCT customer_id FROM orders WHERE ordered_at < {next_day} AND amount > 0);

-- name: products
CREATE OR REPLACE TEMP TABLE seq_products AS
SELECT product_id, CAST(row_number() OVER () AS INTEGER) AS code
FROM (SELECT DISTINCT product_id FROM orders WHERE ordered_at < {next_day} AND amount > 0);

-- name: coded
-- First purchase per customer and product, codes joined onto the order lines before grouping (two
-- integers hash faster than two strings); ordered by customer so the self-joins probe neighbouring rows.
CREATE OR REPLACE TEMP TABLE seq_coded AS
SELECT c.code AS customer_id, p.code AS item, CAST(min(o.ordered_at)::DATE - DATE '1970-01-01' AS INTEGER) AS day
FROM orders o
JOIN seq_customers c ON c.customer_id = o.customer_id
JOIN seq_products p ON p.product_id = o.product_id
WHERE o.ordered_at < {next_day} AND o.amount > 0
GROUP BY c.code, p.code
ORDER BY c.code;

-- name: active
-- The months (day number of their 1st) each buyer ordered in, up to the last month with a full window:
-- distinct on the loaded ids first (3 lines an order), then coded.
CREATE OR REPLACE TEMP TABLE seq_active AS
SELECT c.code AS customer_id, o.month
FROM (
    SELECT DISTINCT customer_id, CAST(date_trunc('month', ordered_at)::DATE - DATE '1970-01-01' AS INTEGER) AS month
    FROM orders
    WHERE ordered_at < {next_day}
      AND CAST(date_trunc('month', ordered_at)::DATE - DATE '1970-01-01' AS INTEGER) <= {last_full}
) o
JOIN seq_customers c ON c.customer_id = o.customer_id;

-- name: pair_counts
-- The pair count: one self-join by customer, B bought later than A + window left out of the join; each
-- joined row is either B owned on or before A's day or a hit. Pairs with enough hits only.
CREATE OR REPLACE TEMP TABLE seq_counts AS
SELECT j.antecedent, j.consequent,
       CAST(n.eligible - j.owned AS BIGINT) AS customers_a,
       CAST(j.joined - j.owned AS BIGINT) AS customers_a_then_b
FROM (
    SELECT a.item AS antecedent, b.item AS consequent, count(*) AS joined,
           count(*) FILTER (WHERE b.day <= a.day) AS owned
    FROM {coded} a
    JOIN {coded} b ON b.customer_id = a.customer_id AND b.day <= a.day + {window}
    WHERE a.day <= {last_full} AND a.item <> b.item
    GROUP BY a.item, b.item
    HAVING count(*) - count(*) FILTER (WHERE b.day <= a.day) >= {min_customers}
) j
JOIN (
    SELECT item AS antecedent, count(*) FILTER (WHERE day <= {last_full}) AS eligible FROM {coded} GROUP BY item
) n ON n.antecedent = j.antecedent;

-- name: weights
-- The baseline's weights: eligible A buyers by the month of their first A.
CREATE OR REPLACE TEMP TABLE seq_weights AS
SELECT item AS antecedent,
       CAST(date_trunc('month', DATE '1970-01-01' + day)::DATE - DATE '1970-01-01' AS INTEGER) AS month,
       count(*) AS w
FROM seq_coded
WHERE day <= {last_full}
GROUP BY ALL;

-- name: monthly
-- Per product and month, among that month's active customers: owned at the month's start, and held
-- before its window ended (owned, or first bought in the window). Rows bought later are left out.
CREATE OR REPLACE TEMP TABLE seq_monthly AS
SELECT f.item, a.month, count(*) FILTER (WHERE f.day < a.month) AS owned, count(*) AS held
FROM seq_active a
JOIN seq_coded f ON f.customer_id = a.customer_id AND f.day < a.month + {window}
GROUP BY f.item, a.month;

-- name: size
CREATE OR REPLACE TEMP TABLE seq_size AS SELECT month, count(*) AS active FROM seq_active GROUP BY month;

-- name: unordered_pairs
-- The overlap is symmetric in (A, B) but for who owned which first: count each unordered pair once.
CREATE OR REPLACE TEMP TABLE seq_pairs AS
SELECT DISTINCT least(antecedent, consequent) AS lo, greatest(antecedent, consequent) AS hi FROM seq_counts;

-- name: overlap
-- Per unordered pair (lo, hi) and month, the active customers who held both before the window ended
-- (month > max(day_lo, day_hi) - window): how many, and how many already owned lo, hi at the month's start.
CREATE OR REPLACE TEMP TABLE seq_overlap AS
SELECT b.lo, b.hi, a.month, count(*) AS both_held,
       count(*) FILTER (WHERE b.lo_day < a.month) AS owned_lo,
       count(*) FILTER (WHERE b.hi_day < a.month) AS owned_hi
FROM (
    SELECT x.customer_id, x.item AS lo, y.item AS hi, x.day AS lo_day, y.day AS hi_day,
           greatest(x.day, y.day) - {window} AS start
    FROM seq_coded x
    JOIN seq_coded y ON y.customer_id = x.customer_id AND x.item < y.item
    SEMI JOIN seq_pairs p ON p.lo = x.item AND p.hi = y.item
) b
JOIN seq_active a ON a.customer_id = b.customer_id AND a.month > b.start
GROUP BY b.lo, b.hi, a.month;

-- name: baseline
-- Per pair and month: comparable = active - owned B - held A + owned both; bought = held B - owned B -
-- bought both, where bought both = both held - owned both (owned both: the pair's "owned" of B). The
-- weighted mean of the monthly rates, over the months with a comparable customer.
CREATE OR REPLACE TEMP TABLE seq_baseline AS
SELECT antecedent, consequent, sum(w * (bought / comparable)) / sum(w) AS baseline
FROM (
    SELECT k.antecedent, k.consequent, w.w::DOUBLE AS w,
           s.active - coalesce(mb.owned, 0) - coalesce(ma.held, 0) + coalesce(ob.owned_b, 0) AS comparable,
           (coalesce(mb.held, 0) - coalesce(mb.owned, 0) - coalesce(ob.both_held - ob.owned_b, 0))::DOUBLE AS bought
    FROM seq_counts k
    JOIN seq_weights w ON w.antecedent = k.antecedent
    JOIN seq_size s ON s.month = w.month
    LEFT JOIN seq_monthly mb ON mb.item = k.consequent AND mb.month = w.month
    LEFT JOIN seq_monthly ma ON ma.item = k.antecedent AND ma.month = w.month
    LEFT JOIN (
        SELECT lo AS antecedent, hi AS consequent, month, both_held, owned_hi AS owned_b FROM seq_overlap
        UNION ALL
        SELECT hi, lo, month, both_held, owned_lo FROM seq_overlap
    ) ob ON ob.antecedent = k.antecedent AND ob.consequent = k.consequent AND ob.month = w.month
)
WHERE comparable > 0
GROUP BY antecedent, consequent;

-- name: rules
-- Confidence and lift; the rules past the lift floor (an unknown lift passes only a floor of 0), numbered.
CREATE OR REPLACE TEMP TABLE seq_rules AS
SELECT CAST(row_number() OVER () AS INTEGER) AS rule, *
FROM (
    SELECT k.antecedent, k.consequent, k.customers_a, k.customers_a_then_b,
           k.customers_a_then_b / k.customers_a AS confidence, b.baseline,
           CASE WHEN b.baseline IS NULL THEN NULL ELSE k.customers_a_then_b / k.customers_a / greatest(b.baseline, 1e-9) END AS lift
    FROM seq_counts k
    LEFT JOIN seq_baseline b ON b.antecedent = k.antecedent AND b.consequent = k.consequent
)
WHERE lift > {min_lift} OR (baseline IS NULL AND {min_lift} = 0);

-- name: medians
-- The median lag of the hits, for the reported rules only (the holistic median is the dearest aggregate):
-- driven from the few rules, each A's buyers, then their row of B. Grouped by the rule number: on
-- (antecedent, consequent) DuckDB would set up a perfect hash table of 2^22 median states.
SELECT r.antecedent, r.consequent, r.customers_a, r.customers_a_then_b, r.confidence, r.baseline, r.lift,
       m.median_days
FROM seq_rules r
LEFT JOIN (
    SELECT k.rule, median(b.day - a.day)::DOUBLE AS median_days
    FROM seq_rules k
    JOIN seq_coded a ON a.item = k.antecedent
    JOIN seq_coded b ON b.customer_id = a.customer_id AND b.item = k.consequent
                    AND b.day > a.day AND b.day <= a.day + {window}
    WHERE a.day <= {last_full}
    GROUP BY k.rule
) m ON m.rule = r.rule;
