// @generated automatically by Diesel CLI.

diesel::table! {
    checkpoints (log_id, size) {
        log_id -> Text,
        size -> Int8,
        root_hash -> Bytea,
        signed_at -> Timestamptz,
        note -> Text,
    }
}

diesel::table! {
    entries (log_id, idx) {
        log_id -> Text,
        idx -> Int8,
        event_id -> Uuid,
        body -> Text,
        leaf_hash -> Bytea,
        recorded_at -> Timestamptz,
        occurred_at -> Timestamptz,
        actor -> Text,
        action -> Text,
        resource_type -> Text,
        resource_id -> Nullable<Text>,
        outcome -> Text,
    }
}

diesel::table! {
    known_tenants (tenant_id) {
        tenant_id -> Text,
        known_at -> Timestamptz,
    }
}

diesel::table! {
    logs (log_id) {
        log_id -> Text,
        size -> Int8,
        head -> Nullable<Bytea>,
        checkpoint_size -> Int8,
        checkpoint_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        sealed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    tree_hashes (log_id, idx) {
        log_id -> Text,
        idx -> Int8,
        hash -> Bytea,
    }
}

diesel::joinable!(checkpoints -> logs (log_id));
diesel::joinable!(entries -> logs (log_id));
diesel::joinable!(tree_hashes -> logs (log_id));

diesel::allow_tables_to_appear_in_same_query!(
    checkpoints,
    entries,
    known_tenants,
    logs,
    tree_hashes,
);
