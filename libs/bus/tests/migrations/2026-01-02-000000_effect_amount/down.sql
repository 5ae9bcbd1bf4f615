ALTER TABLE effects DROP COLUMN amount;
