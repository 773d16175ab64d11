-- A reading is named by its device, attribute and time: the same reading delivered twice (a
-- redelivery after a crash, or a second node) is kept once.
DELETE FROM telemetry WHERE rowid NOT IN (SELECT MIN(rowid) FROM telemetry GROUP BY device_code, name, at);
DROP INDEX telemetry_series;
CREATE UNIQUE INDEX telemetry_series ON telemetry(device_code, name, at);
