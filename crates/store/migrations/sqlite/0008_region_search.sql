-- Name and code search (`q=`, a substring, case-insensitive) through an FTS5 trigram index kept
-- beside the regions by triggers, so a search over a million regions reads the few that match
-- instead of every row. Queries of fewer than three characters, which trigrams cannot serve, scan.
CREATE VIRTUAL TABLE regions_search USING fts5(name, code, content = 'regions', content_rowid = 'id', tokenize = 'trigram');
INSERT INTO regions_search (regions_search) VALUES ('rebuild');
CREATE TRIGGER regions_search_insert AFTER INSERT ON regions BEGIN
    INSERT INTO regions_search (rowid, name, code) VALUES (new.id, new.name, new.code);
END;
CREATE TRIGGER regions_search_delete AFTER DELETE ON regions BEGIN
    INSERT INTO regions_search (regions_search, rowid, name, code) VALUES ('delete', old.id, old.name, old.code);
END;
CREATE TRIGGER regions_search_update AFTER UPDATE OF name, code ON regions BEGIN
    INSERT INTO regions_search (regions_search, rowid, name, code) VALUES ('delete', old.id, old.name, old.code);
    INSERT INTO regions_search (rowid, name, code) VALUES (new.id, new.name, new.code);
END;
