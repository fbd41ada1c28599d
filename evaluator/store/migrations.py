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
]
