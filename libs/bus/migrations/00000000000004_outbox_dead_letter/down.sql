DROP TABLE outbox_dead_letter;
