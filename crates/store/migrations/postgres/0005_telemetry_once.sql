-- A reading is named by its device, attribute and time: the same reading delivered twice (a
-- redelivery after a crash, or a second node) is kept once.
DELETE FROM telemetry a USING telemetry b
WHERE a.ctid > b.ctid AND a.device_code = b.device_code AND a.name = b.name AND a.at = b.at;
DROP INDEX telemetry_series;
CREATE UNIQUE INDEX telemetry_series ON telemetry(device_code, name, at);
