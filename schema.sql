-- adolfd schema: every table and SQL function, idempotent (applied by `adolfd migrate` on every start).
-- Sections are per module; each statement must be safe to run again (IF NOT EXISTS, CREATE OR REPLACE).

-- == platform: job bookkeeping, alerts ============================================================

-- == 1C extractor tables (brain_*): written by the extractor, read by adolfd =========================

-- == logistic (seed 000) ===========================================================================

-- == watcher (seed 001) ============================================================================

-- == marketing (seed 002) ==========================================================================

-- == reputation (seed 003) =========================================================================

-- == carsbot (seed 004) ============================================================================

-- == operations: alert delivery ====================================================================
