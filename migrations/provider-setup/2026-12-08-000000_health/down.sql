DROP TABLE health_records;
ALTER TABLE connections DROP COLUMN health_checked_at, DROP COLUMN health_status;
