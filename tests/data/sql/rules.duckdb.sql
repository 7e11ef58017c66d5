WITH "t2" AS (
  SELECT
    "t1"."customer_id",
    "t1"."item",
    CAST(MIN("t1"."ordered_at") AS DATE) AS "first_on"
  FROM (
    SELECT
      "t0"."order_id",
      "t0"."line",
      "t0"."customer_id",
      "t0"."product_id",
      "t0"."ordered_at",
      "t0"."quantity",
      "t0"."amount",
      "t0"."channel",
      "t0"."campaign_id",
      "t0"."location_id",
      "t0"."product_id" AS "item"
    FROM "orders" AS "t0"
    WHERE
      "t0"."ordered_at" < MAKE_TIMESTAMP(2025, 12, 31, 0, 0, 0.0) AND "t0"."amount" > 0
  ) AS "t1"
  GROUP BY
    1,
    2
), "t4" AS (
  SELECT
    "t3"."customer_id",
    "t3"."item",
    "t3"."first_on",
    CAST(DATE_DIFF('DAY', MAKE_DATE(1970, 1, 1), "t3"."first_on") AS INT) AS "day"
  FROM "t2" AS "t3"
)
SELECT
  "t15"."antecedent",
  "t15"."consequent",
  "t11"."eligible" - "t15"."owned_before" AS "customers_a",
  "t15"."joined" - "t15"."owned_before" AS "customers_a_then_b"
FROM (
  SELECT
    "t13"."antecedent",
    "t13"."consequent",
    COUNT(*) AS "joined",
    COUNT(*) FILTER(WHERE
      "t13"."b_day" <= "t13"."a_day") AS "owned_before"
  FROM (
    SELECT
      *
    FROM (
      SELECT
        "t10"."customer_id",
        "t10"."antecedent",
        "t10"."a_day",
        "t7"."customer_id" AS "customer_id_right",
        "t7"."consequent",
        "t7"."b_day"
      FROM (
        SELECT
          "t6"."customer_id",
          "t6"."item" AS "antecedent",
          "t6"."day" AS "a_day"
        FROM "t4" AS "t6"
        WHERE
          "t6"."day" <= 20272
      ) AS "t10"
      INNER JOIN (
        SELECT
          "t3"."customer_id",
          "t3"."item" AS "consequent",
          CAST(DATE_DIFF('DAY', MAKE_DATE(1970, 1, 1), "t3"."first_on") AS INT) AS "b_day"
        FROM "t2" AS "t3"
      ) AS "t7"
        ON "t10"."customer_id" = "t7"."customer_id"
        AND "t7"."b_day" <= (
          "t10"."a_day" + 180
        )
    ) AS "t12"
    WHERE
      "t12"."antecedent" <> "t12"."consequent"
  ) AS "t13"
  GROUP BY
    1,
    2
) AS "t15"
INNER JOIN (
  SELECT
    "t6"."item" AS "antecedent",
    COUNT(*) FILTER(WHERE
      "t6"."day" <= 20272) AS "eligible"
  FROM "t4" AS "t6"
  GROUP BY
    1
) AS "t11"
  ON "t15"."antecedent" = "t11"."antecedent"
