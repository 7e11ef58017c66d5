SELECT
  *
FROM (
  SELECT
    *
  FROM (
    SELECT
      *
    FROM (
      SELECT
        `t0`.`customer_id`,
        'country x source' AS `dimension`,
        CONCAT_WS(' & ', `t0`.`country`, `t0`.`source`) AS `group`
      FROM `customers` AS `t0`
      WHERE
        NOT CONCAT_WS(' & ', `t0`.`country`, `t0`.`source`) IS NULL
    ) AS `t5`
    UNION ALL
    SELECT
      *
    FROM (
      SELECT
        *
      FROM (
        SELECT
          *
        FROM (
          SELECT
            `t0`.`customer_id`,
            'age_band' AS `dimension`,
            CASE
              WHEN (
                2025 - `t0`.`birth_year`
              ) < 30
              THEN '18-29'
              WHEN (
                2025 - `t0`.`birth_year`
              ) < 45
              THEN '30-44'
              WHEN (
                2025 - `t0`.`birth_year`
              ) < 60
              THEN '45-59'
              WHEN (
                2025 - `t0`.`birth_year`
              ) >= 60
              THEN '60+'
              ELSE CAST(NULL AS STRING)
            END AS `group`
          FROM `customers` AS `t0`
        ) AS `t14`
        WHERE
          NOT `t14`.`group` IS NULL
      ) AS `t20`
      UNION ALL
      SELECT
        *
      FROM (
        SELECT
          `t0`.`customer_id`,
          'gender' AS `dimension`,
          `t0`.`gender` AS `group`
        FROM `customers` AS `t0`
        WHERE
          NOT `t0`.`gender` IS NULL
      ) AS `t3`
    ) AS `t21`
  ) AS `t26`
  UNION ALL
  SELECT
    *
  FROM (
    SELECT
      *
    FROM (
      SELECT
        *
      FROM (
        SELECT
          `t0`.`customer_id`,
          'region' AS `dimension`,
          `t0`.`region` AS `group`
        FROM `customers` AS `t0`
        WHERE
          NOT `t0`.`region` IS NULL
      ) AS `t4`
      UNION ALL
      SELECT
        *
      FROM (
        SELECT
          `t0`.`customer_id`,
          'country' AS `dimension`,
          `t0`.`country` AS `group`
        FROM `customers` AS `t0`
        WHERE
          NOT `t0`.`country` IS NULL
      ) AS `t1`
    ) AS `t8`
    UNION ALL
    SELECT
      *
    FROM (
      SELECT
        *
      FROM (
        SELECT
          `t0`.`customer_id`,
          'source' AS `dimension`,
          `t0`.`source` AS `group`
        FROM `customers` AS `t0`
        WHERE
          NOT `t0`.`source` IS NULL
      ) AS `t2`
      UNION ALL
      SELECT
        *
      FROM (
        SELECT
          *
        FROM (
          SELECT
            `t0`.`customer_id`,
            'age_band x gender' AS `dimension`,
            CONCAT_WS(
              ' & ',
              CASE
                WHEN (
                  2025 - `t0`.`birth_year`
                ) < 30
                THEN '18-29'
                WHEN (
                  2025 - `t0`.`birth_year`
                ) < 45
                THEN '30-44'
                WHEN (
                  2025 - `t0`.`birth_year`
                ) < 60
                THEN '45-59'
                WHEN (
                  2025 - `t0`.`birth_year`
                ) >= 60
                THEN '60+'
                ELSE CAST(NULL AS STRING)
              END,
              `t0`.`gender`
            ) AS `group`
          FROM `customers` AS `t0`
        ) AS `t16`
        WHERE
          NOT `t16`.`group` IS NULL
      ) AS `t22`
    ) AS `t27`
  ) AS `t30`
) AS `t32`
UNION ALL
SELECT
  *
FROM (
  SELECT
    *
  FROM (
    SELECT
      *
    FROM (
      SELECT
        *
      FROM (
        SELECT
          *
        FROM (
          SELECT
            `t0`.`customer_id`,
            'age_band x region' AS `dimension`,
            CONCAT_WS(
              ' & ',
              CASE
                WHEN (
                  2025 - `t0`.`birth_year`
                ) < 30
                THEN '18-29'
                WHEN (
                  2025 - `t0`.`birth_year`
                ) < 45
                THEN '30-44'
                WHEN (
                  2025 - `t0`.`birth_year`
                ) < 60
                THEN '45-59'
                WHEN (
                  2025 - `t0`.`birth_year`
                ) >= 60
                THEN '60+'
                ELSE CAST(NULL AS STRING)
              END,
              `t0`.`region`
            ) AS `group`
          FROM `customers` AS `t0`
        ) AS `t17`
        WHERE
          NOT `t17`.`group` IS NULL
      ) AS `t23`
      UNION ALL
      SELECT
        *
      FROM (
        SELECT
          *
        FROM (
          SELECT
            `t0`.`customer_id`,
            'age_band x country' AS `dimension`,
            CONCAT_WS(
              ' & ',
              CASE
                WHEN (
                  2025 - `t0`.`birth_year`
                ) < 30
                THEN '18-29'
                WHEN (
                  2025 - `t0`.`birth_year`
                ) < 45
                THEN '30-44'
                WHEN (
                  2025 - `t0`.`birth_year`
                ) < 60
                THEN '45-59'
                WHEN (
                  2025 - `t0`.`birth_year`
                ) >= 60
                THEN '60+'
                ELSE CAST(NULL AS STRING)
              END,
              `t0`.`country`
            ) AS `group`
          FROM `customers` AS `t0`
        ) AS `t18`
        WHERE
          NOT `t18`.`group` IS NULL
      ) AS `t24`
    ) AS `t28`
    UNION ALL
    SELECT
      *
    FROM (
      SELECT
        *
      FROM (
        SELECT
          *
        FROM (
          SELECT
            `t0`.`customer_id`,
            'age_band x source' AS `dimension`,
            CONCAT_WS(
              ' & ',
              CASE
                WHEN (
                  2025 - `t0`.`birth_year`
                ) < 30
                THEN '18-29'
                WHEN (
                  2025 - `t0`.`birth_year`
                ) < 45
                THEN '30-44'
                WHEN (
                  2025 - `t0`.`birth_year`
                ) < 60
                THEN '45-59'
                WHEN (
                  2025 - `t0`.`birth_year`
                ) >= 60
                THEN '60+'
                ELSE CAST(NULL AS STRING)
              END,
              `t0`.`source`
            ) AS `group`
          FROM `customers` AS `t0`
        ) AS `t19`
        WHERE
          NOT `t19`.`group` IS NULL
      ) AS `t25`
      UNION ALL
      SELECT
        *
      FROM (
        SELECT
          `t0`.`customer_id`,
          'gender x region' AS `dimension`,
          CONCAT_WS(' & ', `t0`.`gender`, `t0`.`region`) AS `group`
        FROM `customers` AS `t0`
        WHERE
          NOT CONCAT_WS(' & ', `t0`.`gender`, `t0`.`region`) IS NULL
      ) AS `t9`
    ) AS `t29`
  ) AS `t31`
  UNION ALL
  SELECT
    *
  FROM (
    SELECT
      *
    FROM (
      SELECT
        *
      FROM (
        SELECT
          `t0`.`customer_id`,
          'gender x country' AS `dimension`,
          CONCAT_WS(' & ', `t0`.`gender`, `t0`.`country`) AS `group`
        FROM `customers` AS `t0`
        WHERE
          NOT CONCAT_WS(' & ', `t0`.`gender`, `t0`.`country`) IS NULL
      ) AS `t6`
      UNION ALL
      SELECT
        *
      FROM (
        SELECT
          `t0`.`customer_id`,
          'gender x source' AS `dimension`,
          CONCAT_WS(' & ', `t0`.`gender`, `t0`.`source`) AS `group`
        FROM `customers` AS `t0`
        WHERE
          NOT CONCAT_WS(' & ', `t0`.`gender`, `t0`.`source`) IS NULL
      ) AS `t7`
    ) AS `t12`
    UNION ALL
    SELECT
      *
    FROM (
      SELECT
        *
      FROM (
        SELECT
          `t0`.`customer_id`,
          'region x country' AS `dimension`,
          CONCAT_WS(' & ', `t0`.`region`, `t0`.`country`) AS `group`
        FROM `customers` AS `t0`
        WHERE
          NOT CONCAT_WS(' & ', `t0`.`region`, `t0`.`country`) IS NULL
      ) AS `t10`
      UNION ALL
      SELECT
        *
      FROM (
        SELECT
          `t0`.`customer_id`,
          'region x source' AS `dimension`,
          CONCAT_WS(' & ', `t0`.`region`, `t0`.`source`) AS `group`
        FROM `customers` AS `t0`
        WHERE
          NOT CONCAT_WS(' & ', `t0`.`region`, `t0`.`source`) IS NULL
      ) AS `t11`
    ) AS `t13`
  ) AS `t15`
) AS `t33`
