SELECT
  `t4`.`customer_id`,
  `t4`.`first_order_at`,
  `t4`.`last_order_at`,
  `t4`.`orders`,
  `t4`.`revenue`,
  `t4`.`avg_order_value`,
  `t4`.`recency_days`,
  `t4`.`tenure_days`,
  `t4`.`products`,
  `t4`.`r_score`,
  `t4`.`f_score`,
  `t4`.`m_score`,
  CONCAT(
    CONCAT(CAST(`t4`.`r_score` AS STRING), CAST(`t4`.`f_score` AS STRING)),
    CAST(`t4`.`m_score` AS STRING)
  ) AS `rfm_score`,
  CASE
    WHEN (
      `t4`.`r_score` >= 4
    ) AND (
      `t4`.`f_score` >= 4
    )
    THEN 'champions'
    WHEN (
      `t4`.`r_score` <= 2
    ) AND (
      `t4`.`f_score` >= 4
    )
    THEN 'cannot lose them'
    WHEN (
      `t4`.`r_score` >= 3
    ) AND (
      `t4`.`f_score` >= 3
    )
    THEN 'loyal'
    WHEN (
      `t4`.`r_score` >= 4
    ) AND (
      `t4`.`f_score` = 1
    )
    THEN 'new'
    WHEN `t4`.`r_score` >= 4
    THEN 'potential loyalists'
    WHEN `t4`.`r_score` = 3
    THEN 'need attention'
    WHEN (
      `t4`.`r_score` <= 2
    ) AND (
      `t4`.`f_score` >= 3
    )
    THEN 'at risk'
    ELSE 'hibernating'
  END AS `rfm_segment`
FROM (
  SELECT
    `t3`.`customer_id`,
    `t3`.`first_order_at`,
    `t3`.`last_order_at`,
    `t3`.`orders`,
    `t3`.`revenue`,
    `t3`.`products`,
    `t3`.`avg_order_value`,
    `t3`.`recency_days`,
    `t3`.`tenure_days`,
    CAST(FLOOR(
      LEAST(
        PERCENT_RANK() OVER (ORDER BY -(
          `t3`.`recency_days`
        ) ASC NULLS LAST) * 5,
        4.999
      )
    ) AS BIGINT) + 1 AS `r_score`,
    CAST(FLOOR(LEAST(PERCENT_RANK() OVER (ORDER BY `t3`.`orders` ASC NULLS LAST) * 5, 4.999)) AS BIGINT) + 1 AS `f_score`,
    CAST(FLOOR(LEAST(PERCENT_RANK() OVER (ORDER BY `t3`.`revenue` ASC NULLS LAST) * 5, 4.999)) AS BIGINT) + 1 AS `m_score`
  FROM (
    SELECT
      `t2`.`customer_id`,
      `t2`.`first_order_at`,
      `t2`.`last_order_at`,
      `t2`.`orders`,
      `t2`.`revenue`,
      `t2`.`products`,
      `t2`.`revenue` / CAST(`t2`.`orders` AS DOUBLE) AS `avg_order_value`,
      DATEDIFF(DAY, CAST(`t2`.`last_order_at` AS DATE), MAKE_DATE(2025, 12, 30)) AS `recency_days`,
      DATEDIFF(DAY, CAST(`t2`.`first_order_at` AS DATE), MAKE_DATE(2025, 12, 30)) AS `tenure_days`
    FROM (
      SELECT
        `t1`.`customer_id`,
        MIN(`t1`.`ordered_at`) AS `first_order_at`,
        MAX(`t1`.`ordered_at`) AS `last_order_at`,
        COUNT(DISTINCT `t1`.`order_id`) AS `orders`,
        SUM(`t1`.`amount`) AS `revenue`,
        COUNT(DISTINCT `t1`.`product_id`) AS `products`
      FROM (
        SELECT
          *
        FROM `orders` AS `t0`
        WHERE
          `t0`.`ordered_at` < CAST('2025-12-31T00:00:00' AS TIMESTAMP)
      ) AS `t1`
      GROUP BY
        1
    ) AS `t2`
  ) AS `t3`
) AS `t4`
