DROP TABLE policy_records;
