-- Name and code search (`q=`, a substring, case-insensitive) through trigram indexes, so a search
-- over a million regions reads the few that match instead of every row. pg_trgm is a trusted
-- contrib extension; where it cannot be installed, search still works, by a scan.
DO $$
DECLARE
    home TEXT;
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'pg_trgm is not available (%); region search will scan', SQLERRM;
    END;
    SELECT n.nspname INTO home FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
    IF home IS NOT NULL THEN
        BEGIN
            EXECUTE format('CREATE INDEX regions_name_trgm ON regions USING gin (name %I.gin_trgm_ops)', home);
            EXECUTE format('CREATE INDEX regions_code_trgm ON regions USING gin (code %I.gin_trgm_ops)', home);
        EXCEPTION WHEN OTHERS THEN
            -- e.g. the extension lives in a schema this role may not use
            RAISE NOTICE 'trigram indexes not created (%); region search will scan', SQLERRM;
        END;
    END IF;
END
$$;
