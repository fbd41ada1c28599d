"""The DuckDB schema, as an ordered list of migrations. Never edit a shipped migration: append one.

Raw data tables are append-only and carry the `batch_id` that brought each row; the `current_*`
views pick, per natural key, the row of the latest accepted batch, so a correction batch
supersedes a value while the older one stays queryable. Run tables are written once per run.
"""

from __future__ import annotations

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "raw data, load audit and scoring runs",
        """
        CREATE SEQUENCE batch_seq START 1;

        -- every load attempt, accepted or rejected (the only table a rejected batch touches)
        CREATE TABLE load_batches (
            batch_id     INTEGER PRIMARY KEY,
            kind         VARCHAR NOT NULL,
            file_name    VARCHAR NOT NULL,
            file_path    VARCHAR,
            checksum     VARCHAR NOT NULL,      -- sha256 of the file bytes
            row_count    BIGINT,
            status       VARCHAR NOT NULL,      -- accepted | rejected
            reason       VARCHAR,
            rejects_path VARCHAR,
            loaded_by    VARCHAR,
            loaded_at    TIMESTAMP NOT NULL,
            forced       BOOLEAN DEFAULT FALSE,
            encoding     VARCHAR,               -- utf-8 | utf-8-sig | gb18030 | binary (parquet/xlsx)
            column_map   JSON,                  -- file header -> contract column, as applied
            ignored_columns VARCHAR[]           -- extra columns in the file, not stored
        );

        CREATE TABLE units (
            batch_id   INTEGER NOT NULL,
            unit_id    VARCHAR NOT NULL,
            name       VARCHAR,
            unit_type  VARCHAR,
            peer_group VARCHAR,
            parent_id  VARCHAR,
            population DOUBLE,
            source_row BIGINT              -- row in the loaded file (header = row 1)
        );

        CREATE TABLE outcomes (
            batch_id INTEGER NOT NULL,
            unit_id  VARCHAR NOT NULL,
            period   VARCHAR NOT NULL,   -- 2026, 2026Q1 or 2026-03
            year     INTEGER NOT NULL,   -- derived from period, for roll-ups
            measure  VARCHAR NOT NULL,
            value    DOUBLE NOT NULL,
            source_row BIGINT              -- row in the loaded file (header = row 1)
        );

        CREATE TABLE survey_responses (
            batch_id        INTEGER NOT NULL,
            response_id     VARCHAR NOT NULL,
            unit_id         VARCHAR NOT NULL,
            period          VARCHAR NOT NULL,
            year            INTEGER NOT NULL,
            question        VARCHAR NOT NULL,
            answer          DOUBLE NOT NULL,
            respondent_hash VARCHAR,          -- keyed hash; the raw identifier is never stored
            weight          DOUBLE,
            duration_s      DOUBLE,
            channel         VARCHAR,
            submitted_at    TIMESTAMP,
            source_row BIGINT              -- row in the loaded file (header = row 1)
        );

        CREATE TABLE targets (
            batch_id INTEGER NOT NULL,
            unit_id  VARCHAR NOT NULL,
            period   VARCHAR NOT NULL,
            year     INTEGER NOT NULL,
            measure  VARCHAR NOT NULL,
            target   DOUBLE NOT NULL,
            source_row BIGINT              -- row in the loaded file (header = row 1)
        );

        CREATE TABLE events (
            batch_id INTEGER NOT NULL,
            unit_id  VARCHAR NOT NULL,
            period   VARCHAR NOT NULL,
            year     INTEGER NOT NULL,
            event    VARCHAR NOT NULL,
            value    DOUBLE,
            note     VARCHAR,
            source_row BIGINT              -- row in the loaded file (header = row 1)
        );

        CREATE TABLE questions (
            batch_id  INTEGER NOT NULL,
            question  VARCHAR NOT NULL,
            scale_min DOUBLE NOT NULL,
            scale_max DOUBLE NOT NULL,
            text_zh   VARCHAR,
            text_en   VARCHAR,
            source_row BIGINT              -- row in the loaded file (header = row 1)
        );

        -- latest accepted batch wins per natural key
        CREATE VIEW current_units AS
            SELECT * EXCLUDE (rn) FROM (
                SELECT *, row_number() OVER (PARTITION BY unit_id ORDER BY batch_id DESC) AS rn
                FROM units) WHERE rn = 1;
        CREATE VIEW current_outcomes AS
            SELECT * EXCLUDE (rn) FROM (
                SELECT *, row_number() OVER (PARTITION BY unit_id, period, measure
                                             ORDER BY batch_id DESC) AS rn
                FROM outcomes) WHERE rn = 1;
        CREATE VIEW current_targets AS
            SELECT * EXCLUDE (rn) FROM (
                SELECT *, row_number() OVER (PARTITION BY unit_id, period, measure
                                             ORDER BY batch_id DESC) AS rn
                FROM targets) WHERE rn = 1;
        CREATE VIEW current_questions AS
            SELECT * EXCLUDE (rn) FROM (
                SELECT *, row_number() OVER (PARTITION BY question ORDER BY batch_id DESC) AS rn
                FROM questions) WHERE rn = 1;
        -- a later survey batch with the same response_id+question (in the same year) supersedes
        -- the answer; `year` leads the partition so a scoring run's year filter is pushed below
        -- the window instead of re-ranking every year's answers (benchmarks: ~2x on the survey step)
        CREATE VIEW current_survey_responses AS
            SELECT * EXCLUDE (rn) FROM (
                SELECT *, row_number() OVER (PARTITION BY year, response_id, question
                                             ORDER BY batch_id DESC) AS rn
                FROM survey_responses) WHERE rn = 1;
        -- events are facts, not values: a later batch adds events, it does not replace them
        CREATE VIEW current_events AS SELECT * FROM events;

        -- one row per scoring run; runs are immutable once written
        CREATE TABLE runs (
            run_id         VARCHAR PRIMARY KEY,
            created_at     TIMESTAMP NOT NULL,
            period         VARCHAR NOT NULL,
            scheme_id      VARCHAR NOT NULL,
            scheme_version VARCHAR,
            scheme_name_zh VARCHAR,
            scheme_name_en VARCHAR,
            scheme_hash    VARCHAR NOT NULL,   -- sha256 of the scheme file text
            scheme_yaml    VARCHAR NOT NULL,   -- the scheme text itself, so a run explains itself
            batch_ids      INTEGER[],          -- data batches visible to the run
            parameters     JSON,               -- CLI options, engine, uncertainty settings
            code_version   VARCHAR,
            lint_errors    INTEGER DEFAULT 0,
            published      BOOLEAN DEFAULT FALSE,
            note           VARCHAR
        );

        CREATE TABLE run_scores (
            run_id          VARCHAR NOT NULL,
            unit_id         VARCHAR NOT NULL,
            unit_name       VARCHAR,
            unit_type       VARCHAR,
            peer_group      VARCHAR,
            score           DOUBLE,     -- on the scheme's scale, after adjustments and vetoes
            base_score      DOUBLE,     -- weighted aggregate before adjustments and vetoes
            bonus           DOUBLE,
            deduction       DOUBLE,
            veto            VARCHAR,    -- veto item ids applied, comma-separated
            rank            INTEGER,
            peer_rank       INTEGER,
            grade           VARCHAR,
            grade_reason    VARCHAR,    -- threshold | quota | veto
            score_declared  DOUBLE,     -- score under declared weights (no trace policy)
            rank_declared   INTEGER,
            score_low       DOUBLE,
            score_high      DOUBLE,
            rank_low        INTEGER,
            rank_high       INTEGER,
            coverage        DOUBLE      -- share of effective weight backed by data
        );

        CREATE TABLE run_indicator_scores (
            run_id            VARCHAR NOT NULL,
            unit_id           VARCHAR NOT NULL,
            indicator_id      VARCHAR NOT NULL,
            dimension_id      VARCHAR NOT NULL,  -- the indicator's parent
            evidence          VARCHAR NOT NULL,
            raw_value         DOUBLE,
            transformed_value DOUBLE,
            rule              VARCHAR NOT NULL,
            score             DOUBLE,            -- 0–100
            declared_weight   DOUBLE NOT NULL,   -- global fraction before the trace policy
            weight            DOUBLE NOT NULL,   -- effective global fraction (CONTRACT `weight`)
            local_weight      DOUBLE,            -- within parent, re-normalised for missing data
            contribution      DOUBLE,            -- points added to the total (scheme scale)
            missing_policy    VARCHAR,
            imputed           BOOLEAN DEFAULT FALSE,
            flags             VARCHAR
        );

        CREATE TABLE run_dimension_scores (
            run_id       VARCHAR NOT NULL,
            unit_id      VARCHAR NOT NULL,
            dimension_id VARCHAR NOT NULL,
            parent_id    VARCHAR,       -- NULL for top-level dimensions
            depth        INTEGER NOT NULL,
            score        DOUBLE,        -- 0–100
            weight       DOUBLE,        -- effective global fraction
            contribution DOUBLE
        );

        -- the reference values each rule used, so a unit can recompute its score by hand
        CREATE TABLE run_reference_values (
            run_id       VARCHAR NOT NULL,
            indicator_id VARCHAR NOT NULL,
            peer_group   VARCHAR,       -- NULL when the value applies to all units
            unit_id      VARCHAR,       -- set for per-unit values (targets), else NULL
            name         VARCHAR NOT NULL,  -- min, max, mean, sd, median, winsor_low, …
            value        DOUBLE
        );

        CREATE TABLE run_survey_quality (
            run_id             VARCHAR NOT NULL,
            unit_id            VARCHAR NOT NULL,
            indicator_id       VARCHAR NOT NULL,
            responses          INTEGER,  -- distinct responses received
            excluded_speeder   INTEGER,
            excluded_straightline INTEGER,
            excluded_duplicate INTEGER,
            excluded_out_of_scale INTEGER,
            valid              INTEGER,
            effective_n        DOUBLE,   -- Kish
            raw_index          DOUBLE,   -- percent-to-max, 0–100, before shrinkage
            index_value        DOUBLE,   -- after shrinkage (what is scored)
            se                 DOUBLE,
            ci_low             DOUBLE,
            ci_high            DOUBLE,
            top_box_share      DOUBLE,
            small_sample       BOOLEAN,
            shrinkage          DOUBLE    -- weight on the unit's own mean (1 = no shrinkage)
        );

        CREATE TABLE run_flags (
            run_id   VARCHAR NOT NULL,
            unit_id  VARCHAR NOT NULL,
            flag     VARCHAR NOT NULL,   -- show_off | survey_stuffing | small_sample | …
            evidence VARCHAR
        );

        CREATE TABLE run_lint (
            run_id    VARCHAR NOT NULL,
            rule      VARCHAR NOT NULL,
            severity  VARCHAR NOT NULL,
            indicator VARCHAR,
            message   VARCHAR NOT NULL,   -- English
            message_zh VARCHAR
        );

        CREATE TABLE run_weights (
            run_id          VARCHAR NOT NULL,
            node_id         VARCHAR NOT NULL,
            node_kind       VARCHAR NOT NULL,   -- dimension | indicator
            parent_id       VARCHAR,
            evidence        VARCHAR,
            declared_weight DOUBLE NOT NULL,    -- global fraction
            effective_weight DOUBLE NOT NULL
        );
        """,
    ),
    (
        2,
        "flag evidence in two columns: evidence (English) and evidence_zh",
        """
        -- flags used to store "中文 | English" in one column; split the stored runs once, here
        ALTER TABLE run_flags ADD COLUMN evidence_zh VARCHAR;
        UPDATE run_flags
        SET evidence_zh = trim(split_part(evidence, ' | ', 1)),
            evidence = trim(split_part(evidence, ' | ', 2))
        WHERE contains(evidence, ' | ');
        """,
    ),
    (
        3,
        "run warnings: constant indicators, clamped z-scores, reweighting, low coverage",
        """
        -- results that are right but can mislead; one row per indicator (node_id) or unit
        CREATE TABLE run_warnings (
            run_id  VARCHAR NOT NULL,
            warning VARCHAR NOT NULL,  -- constant_indicator | zscore_clamped | reweighted | low_coverage
            node_id VARCHAR,           -- the indicator, when the warning is about one
            unit_id VARCHAR,           -- the unit, when the warning is about one
            n       INTEGER,           -- units concerned
            of_n    INTEGER,           -- out of
            value   DOUBLE             -- the constant value; a unit's coverage
        );
        """,
    ),
    (
        4,
        "uncertainty of a run: bootstrap intervals, grade probabilities, tiers, weight sensitivity",
        """
        -- one row per run whose uncertainty was computed: how (replicates, level, seed) and a summary
        CREATE TABLE run_uncertainty_settings (
            run_id      VARCHAR NOT NULL PRIMARY KEY,
            computed_at TIMESTAMP NOT NULL,
            replicates  INTEGER NOT NULL,
            level       DOUBLE NOT NULL,    -- e.g. 0.95: intervals hold this share of replicates
            seed        BIGINT NOT NULL,
            weight_draws INTEGER NOT NULL,  -- weight Monte-Carlo draws
            tiers       BOOLEAN NOT NULL,   -- tiers computed (scheme uncertainty.tiers)
            method      JSON,               -- the settings used (weight range, draws kind, …)
            summary     JSON                -- firm / weight-dependent grades, seconds taken
        );

        CREATE TABLE run_uncertainty (
            run_id      VARCHAR NOT NULL,
            unit_id     VARCHAR NOT NULL,
            score_mean  DOUBLE,
            score_sd    DOUBLE,
            score_low   DOUBLE,   -- bootstrap percentile interval at the run's level
            score_high  DOUBLE,
            rank_median DOUBLE,
            rank_low    INTEGER,  -- best rank of the interval
            rank_high   INTEGER,
            p_top10     DOUBLE,   -- share of replicates ranking the unit in the top 10%
            p_bottom10  DOUBLE,
            tier        INTEGER   -- 1 = best; NULL when tiers were not computed
        );

        CREATE TABLE run_grade_probabilities (
            run_id      VARCHAR NOT NULL,
            unit_id     VARCHAR NOT NULL,
            grade       VARCHAR NOT NULL,
            probability DOUBLE NOT NULL   -- share of bootstrap replicates giving this grade
        );

        CREATE TABLE run_sensitivity (
            run_id          VARCHAR NOT NULL,
            unit_id         VARCHAR NOT NULL,
            rank_median     DOUBLE,   -- over weight / aggregation draws
            rank_p05        DOUBLE,
            rank_p95        DOUBLE,
            grade_stability DOUBLE,   -- share of draws keeping the run's grade
            firm            BOOLEAN   -- grade_stability >= 0.9
        );

        CREATE TABLE run_sensitivity_indicators (
            run_id               VARCHAR NOT NULL,
            indicator_id         VARCHAR NOT NULL,
            mean_abs_rank_change DOUBLE,   -- leave this indicator out: mean |Δrank|
            max_abs_rank_change  DOUBLE,
            spearman             DOUBLE    -- rank correlation with the run's ranking
        );

        -- the intervals every reader shows: the bootstrap's once computed, else the run's own
        -- (survey confidence bounds, `score --uncertainty` before the bootstrap existed)
        CREATE VIEW run_intervals AS
        SELECT s.run_id, s.unit_id,
               CASE WHEN u.unit_id IS NULL THEN s.score_low ELSE u.score_low END AS score_low,
               CASE WHEN u.unit_id IS NULL THEN s.score_high ELSE u.score_high END AS score_high,
               CASE WHEN u.unit_id IS NULL THEN s.rank_low ELSE u.rank_low END AS rank_low,
               CASE WHEN u.unit_id IS NULL THEN s.rank_high ELSE u.rank_high END AS rank_high,
               u.tier,
               CASE WHEN u.unit_id IS NOT NULL THEN 'bootstrap'
                    WHEN s.score_low IS NOT NULL THEN 'survey_ci' END AS interval_source
        FROM run_scores s
        LEFT JOIN run_uncertainty u ON u.run_id = s.run_id AND u.unit_id = s.unit_id;
        """,
    ),
    (
        5,
        "run_funnels: funnel limits with Spiegelhalter's overdispersion correction, per unit",
        """
        CREATE TABLE run_funnels (
            run_id        VARCHAR NOT NULL,
            funnel        VARCHAR NOT NULL,  -- satisfaction | excluded_share
            indicator_id  VARCHAR,           -- the satisfaction indicator (NULL: excluded_share)
            unit_id       VARCHAR NOT NULL,
            n             DOUBLE,            -- effective n (satisfaction) or responses
            value         DOUBLE,            -- unshrunk index, or excluded share 0–1
            centre        DOUBLE,
            spread        DOUBLE,            -- se(n) = spread / sqrt(n)
            z             DOUBLE,            -- against sampling error only
            z_adjusted    DOUBLE,            -- against sqrt(se² + tau2)
            phi           DOUBLE,            -- winsorised mean of z²
            tau2          DOUBLE,            -- additive between-unit variance applied (0: none)
            overdispersed BOOLEAN,
            lo95 DOUBLE, hi95 DOUBLE, lo998 DOUBLE, hi998 DOUBLE,
            outside_95    BOOLEAN,
            outside_998   BOOLEAN
        );
        """,
    ),
    (
        6,
        "run_value_added: peer comparisons and value-added scores of a run",
        """
        CREATE TABLE run_value_added (
            run_id       VARCHAR NOT NULL,
            unit_id      VARCHAR NOT NULL,
            indicator_id VARCHAR,        -- NULL: the total score
            peer         VARCHAR,        -- the unit's group in the column the scheme names
            observed     DOUBLE,         -- the score (raw, of record)
            expected     DOUBLE,         -- OLS on the declared covariates (NULL: not fitted)
            value_added  DOUBLE,         -- observed - expected
            n_fit        INTEGER,        -- units in the fit
            r2           DOUBLE,
            peer_rank    INTEGER,        -- 1 = best in its peer group
            peer_units   INTEGER,
            peer_median  DOUBLE
        );
        """,
    ),
    (
        7,
        "supersession kept as data: superseded_by on raw tables; current_* views are filters",
        """
        -- a raw row is superseded by the next accepted batch with the same natural key
        -- (evaluator/store/current.py sets it at ingest); backfilled here from the batch order
        ALTER TABLE units ADD COLUMN superseded_by INTEGER;
        ALTER TABLE outcomes ADD COLUMN superseded_by INTEGER;
        ALTER TABLE targets ADD COLUMN superseded_by INTEGER;
        ALTER TABLE questions ADD COLUMN superseded_by INTEGER;
        ALTER TABLE survey_responses ADD COLUMN superseded_by INTEGER;
        UPDATE units SET superseded_by = s.nxt FROM (
            SELECT rowid AS rid, lead(batch_id) OVER (PARTITION BY unit_id ORDER BY batch_id)
                AS nxt FROM units) s
        WHERE units.rowid = s.rid AND s.nxt IS NOT NULL;
        UPDATE outcomes SET superseded_by = s.nxt FROM (
            SELECT rowid AS rid, lead(batch_id) OVER (PARTITION BY unit_id, period, measure
                                                      ORDER BY batch_id) AS nxt
            FROM outcomes) s
        WHERE outcomes.rowid = s.rid AND s.nxt IS NOT NULL;
        UPDATE targets SET superseded_by = s.nxt FROM (
            SELECT rowid AS rid, lead(batch_id) OVER (PARTITION BY unit_id, period, measure
                                                      ORDER BY batch_id) AS nxt
            FROM targets) s
        WHERE targets.rowid = s.rid AND s.nxt IS NOT NULL;
        UPDATE questions SET superseded_by = s.nxt FROM (
            SELECT rowid AS rid, lead(batch_id) OVER (PARTITION BY question ORDER BY batch_id)
                AS nxt FROM questions) s
        WHERE questions.rowid = s.rid AND s.nxt IS NOT NULL;
        UPDATE survey_responses SET superseded_by = s.nxt FROM (
            SELECT rowid AS rid, lead(batch_id) OVER (PARTITION BY year, response_id, question
                                                      ORDER BY batch_id) AS nxt
            FROM survey_responses) s
        WHERE survey_responses.rowid = s.rid AND s.nxt IS NOT NULL;
        CREATE OR REPLACE VIEW current_units AS
            SELECT * EXCLUDE (superseded_by) FROM units WHERE superseded_by IS NULL;
        CREATE OR REPLACE VIEW current_outcomes AS
            SELECT * EXCLUDE (superseded_by) FROM outcomes WHERE superseded_by IS NULL;
        CREATE OR REPLACE VIEW current_targets AS
            SELECT * EXCLUDE (superseded_by) FROM targets WHERE superseded_by IS NULL;
        CREATE OR REPLACE VIEW current_questions AS
            SELECT * EXCLUDE (superseded_by) FROM questions WHERE superseded_by IS NULL;
        CREATE OR REPLACE VIEW current_survey_responses AS
            SELECT * EXCLUDE (superseded_by) FROM survey_responses WHERE superseded_by IS NULL;
        """,
    ),
    (
        8,
        "run_uncertainty.tier_grade: the grade by tier (scheme uncertainty.tier_grades)",
        """
        ALTER TABLE run_uncertainty ADD COLUMN tier_grade VARCHAR;
        CREATE OR REPLACE VIEW run_intervals AS
        SELECT s.run_id, s.unit_id,
               CASE WHEN u.unit_id IS NULL THEN s.score_low ELSE u.score_low END AS score_low,
               CASE WHEN u.unit_id IS NULL THEN s.score_high ELSE u.score_high END AS score_high,
               CASE WHEN u.unit_id IS NULL THEN s.rank_low ELSE u.rank_low END AS rank_low,
               CASE WHEN u.unit_id IS NULL THEN s.rank_high ELSE u.rank_high END AS rank_high,
               u.tier,
               CASE WHEN u.unit_id IS NOT NULL THEN 'bootstrap'
                    WHEN s.score_low IS NOT NULL THEN 'survey_ci' END AS interval_source,
               u.tier_grade
        FROM run_scores s
        LEFT JOIN run_uncertainty u ON u.run_id = s.run_id AND u.unit_id = s.unit_id;
        """,
    ),
    (
        9,
        "run_indicator_scores as a view: the weight-independent rows once per indicator-level "
        "key (run_indicator_base), the per-run weights and contributions beside them",
        """
        -- what an indicator scores for a unit, independent of weights, grades and adjustments:
        -- written once per base_id (a hash of scoring/reuse.run_key: scheme inputs, period,
        -- data and code version), so a weights-only re-score writes none of these rows again
        CREATE TABLE run_indicator_base (
            base_id           VARCHAR NOT NULL,
            unit_id           VARCHAR NOT NULL,
            indicator_id      VARCHAR NOT NULL,
            dimension_id      VARCHAR NOT NULL,
            evidence          VARCHAR NOT NULL,
            raw_value         DOUBLE,
            transformed_value DOUBLE,
            rule              VARCHAR NOT NULL,
            score             DOUBLE,
            missing_policy    VARCHAR,
            imputed           BOOLEAN DEFAULT FALSE,
            flags             VARCHAR
        );
        -- per run and indicator: its weights, which base rows the run reads, and the
        -- indicator's position in the run's lists below (0-based, in indicator_id order)
        CREATE TABLE run_indicator_weights (
            run_id          VARCHAR NOT NULL,
            base_id         VARCHAR NOT NULL,
            indicator_id    VARCHAR NOT NULL,
            pos             INTEGER NOT NULL,
            declared_weight DOUBLE NOT NULL,
            weight          DOUBLE NOT NULL
        );
        -- per run and unit (not per indicator: 1/indicators of the rows): the positions of the
        -- indicators that carry weight for the unit, and their local weight and contribution
        -- (an absent one reads as local weight 0, and contribution 0 when scored)
        CREATE TABLE run_indicator_parts (
            run_id        VARCHAR NOT NULL,
            unit_id       VARCHAR NOT NULL,
            positions     INTEGER[] NOT NULL,
            local_weights DOUBLE[] NOT NULL,
            contributions DOUBLE[] NOT NULL
        );
        -- stored runs keep their rows: each run is its own base
        INSERT INTO run_indicator_base
        SELECT run_id, unit_id, indicator_id, dimension_id, evidence, raw_value,
               transformed_value, rule, score, missing_policy, imputed, flags
        FROM run_indicator_scores;
        INSERT INTO run_indicator_weights
        SELECT run_id, run_id, indicator_id,
               CAST(row_number() OVER (PARTITION BY run_id ORDER BY indicator_id) - 1 AS INTEGER),
               min(declared_weight), min(weight)
        FROM run_indicator_scores GROUP BY run_id, indicator_id;
        INSERT INTO run_indicator_parts
        SELECT s.run_id, s.unit_id, list(w.pos ORDER BY w.pos),
               list(s.local_weight ORDER BY w.pos), list(s.contribution ORDER BY w.pos)
        FROM run_indicator_scores s
        JOIN run_indicator_weights w ON w.run_id = s.run_id AND w.indicator_id = s.indicator_id
        GROUP BY s.run_id, s.unit_id;
        DROP TABLE run_indicator_scores;
        -- the contract's columns, as the table had them. The parts are unnested before the
        -- join (a list in a join's payload is copied once per matching row: 5x slower to read)
        CREATE VIEW run_indicator_scores AS
        SELECT w.run_id, b.unit_id, b.indicator_id, b.dimension_id, b.evidence, b.raw_value,
               b.transformed_value, b.rule, b.score, w.declared_weight, w.weight,
               COALESCE(p.local_weight, 0.0) AS local_weight,
               CASE WHEN b.score IS NULL THEN NULL ELSE COALESCE(p.contribution, 0.0) END
                   AS contribution,
               b.missing_policy, b.imputed, b.flags
        FROM run_indicator_weights w
        JOIN run_indicator_base b ON b.base_id = w.base_id AND b.indicator_id = w.indicator_id
        LEFT JOIN (SELECT run_id, unit_id, unnest(positions) AS pos,
                          unnest(local_weights) AS local_weight,
                          unnest(contributions) AS contribution
                   FROM run_indicator_parts) p
               ON p.run_id = w.run_id AND p.unit_id = b.unit_id AND p.pos = w.pos;
        """,
    ),
]
