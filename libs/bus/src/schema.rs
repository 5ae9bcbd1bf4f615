//! Diesel definitions of the bus's own tables (see `migrations/`).

diesel::table! {
    outbox (id) {
        id -> Int8,
        event_id -> Uuid,
        topic -> Text,
        msg_key -> Text,
        ce_type -> Text,
        ce_source -> Text,
        ce_subject -> Nullable<Text>,
        ce_time -> Timestamptz,
        traceparent -> Nullable<Text>,
        payload -> Bytea,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    outbox_sent (first_id) {
        sent_at -> Timestamptz,
        first_id -> Int8,
        last_id -> Int8,
        event_ids -> Array<Uuid>,
    }
}

diesel::table! {
    inbox (consumer, event_id) {
        consumer -> Text,
        event_id -> Uuid,
        topic -> Text,
        received_at -> Timestamptz,
    }
}
