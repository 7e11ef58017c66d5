-- Hand-written DuckDB SQL of the Online Retail `load all` (examples/online_retail.yaml), the peer of
-- salesintel's load in bench/load_retail.py: the same products, customers and orders rows and the same
-- rejects (one per refused line and table, with its record as JSON and its key), written as tightly as
-- I can, for the file bench/load_retail.py writes. It checks only what that file needs: a line without a
-- CustomerID is refused by customers and orders; every other value of that file parses. So its time is
-- what reading the file and writing these rows and rejects costs in DuckDB, with none of the checks a
-- user's file needs (types, required values, edges, repeated keys) and with a line number per record
-- that holds only where no quoted value spans lines.
--
-- {file} is filled in by bench/load_retail.py, {load_products}, {load_customers}, {load_orders} are the
-- load ids. Statements run in order, from products on in one transaction with the loads rows, as
-- salesintel's load commits a file's tables; the rejects go in last, in one statement with the row order
-- kept (so DuckDB fills whole row groups and the checkpoint at close has none to merge).

-- name: source
-- All values as text, stored in file order (the order kept for this statement only), so a record's rowid
-- numbers it: its line is rowid + 2 (the header is line 1). Cheaper than a row_number() column.
CREATE TEMP TABLE retail_src AS
SELECT * FROM read_csv('{file}', all_varchar = true, header = true, encoding = 'latin-1');

-- name: products
-- repeated_keys: merge: the last line of a stock code gives its name and price.
INSERT INTO products (product_id, name, price)
SELECT StockCode, arg_max(coalesce(Description, '(no description)'), rowid),
       arg_max(CAST(UnitPrice AS DOUBLE), rowid)
FROM retail_src
GROUP BY StockCode;

-- name: customers
INSERT INTO customers (customer_id, status, country)
SELECT CustomerID, 'customer', arg_max(Country, rowid)
FROM retail_src
WHERE CustomerID IS NOT NULL
GROUP BY CustomerID;

-- name: orders_numbered
-- sequence_within: [InvoiceNo]: lines numbered 1, 2, ... within each invoice, over every line (refused
-- ones too), in file order; the amount is Quantity x UnitPrice.
CREATE TEMP TABLE retail_orders AS
SELECT rowid + 2 AS line, InvoiceNo, row_number() OVER (PARTITION BY InvoiceNo ORDER BY rowid) AS n, CustomerID, StockCode,
       InvoiceDate, Quantity, CAST(Quantity AS DOUBLE) * CAST(UnitPrice AS DOUBLE) AS amount
FROM retail_src;

-- name: orders
INSERT INTO orders (order_id, line, customer_id, product_id, ordered_at, quantity, amount, channel)
SELECT InvoiceNo, n, CustomerID, StockCode, strptime(InvoiceDate, '%m/%d/%Y %H:%M'), CAST(Quantity AS DOUBLE),
       amount, 'web'
FROM retail_orders
WHERE CustomerID IS NOT NULL;

-- name: rejects
-- A line without a CustomerID is refused by customers and by orders: one reject each, with its record.
INSERT INTO rejects (table_name, source_file, line, column_name, value, reason, record, rejected_at, load_id, row_key)
SELECT 'customers', '{file}', rowid + 2, 'customer_id', NULL, 'missing required value',
       CAST(to_json({'customer_id': CustomerID, 'country': Country}) AS VARCHAR), now()::TIMESTAMP, '{load_customers}', NULL
FROM retail_src
WHERE CustomerID IS NULL
UNION ALL
SELECT 'orders', '{file}', line, 'customer_id', NULL, 'missing required value',
       CAST(to_json({'order_id': InvoiceNo, 'line': CAST(n AS VARCHAR), 'customer_id': CustomerID,
                     'product_id': StockCode, 'ordered_at': InvoiceDate, 'quantity': Quantity,
                     'amount': CAST(amount AS VARCHAR), 'channel': 'web'}) AS VARCHAR),
       now()::TIMESTAMP, '{load_orders}', InvoiceNo || ', ' || n
FROM retail_orders
WHERE CustomerID IS NULL;
