// @generated automatically by Diesel CLI.

diesel::table! {
    connections (connection_id) {
        connection_id -> Text,
        tenant_id -> Nullable<Text>,
        name -> Text,
        kind -> Text,
        base_url -> Text,
        deployment -> Nullable<Text>,
        api_version -> Nullable<Text>,
        default_model -> Text,
        status -> Text,
        active_version -> Nullable<Int4>,
        created_at -> Timestamptz,
        created_by -> Text,
        updated_at -> Timestamptz,
        health_status -> Nullable<Text>,
        health_checked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    connector_installations (connection_id) {
        connection_id -> Text,
        tenant_id -> Text,
        workspace_id -> Text,
        settings -> Jsonb,
    }
}

diesel::table! {
    health_records (record_id) {
        record_id -> Text,
        connection_id -> Text,
        tenant_id -> Nullable<Text>,
        status -> Text,
        error_class -> Nullable<Text>,
        http_status -> Nullable<Int4>,
        latency_ms -> Int4,
        source -> Text,
        recorded_by -> Text,
        observed_at -> Timestamptz,
        recorded_at -> Timestamptz,
    }
}

diesel::table! {
    key_versions (connection_id, version) {
        connection_id -> Text,
        version -> Int4,
        tenant_id -> Nullable<Text>,
        backend -> Text,
        key_id -> Text,
        wrapped_key -> Nullable<Bytea>,
        nonce -> Nullable<Bytea>,
        ciphertext -> Nullable<Bytea>,
        status -> Text,
        link_id -> Text,
        created_at -> Timestamptz,
        usable_until -> Nullable<Timestamptz>,
        destroyed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    policy_records (record_id) {
        record_id -> Text,
        level -> Text,
        tenant_id -> Nullable<Text>,
        module_id -> Nullable<Text>,
        version -> Int4,
        rules -> Jsonb,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    pool_grants (connection_id, tenant_id) {
        connection_id -> Text,
        tenant_id -> Text,
        requests_per_minute -> Int4,
        tokens_per_month -> Int8,
        granted_at -> Timestamptz,
        granted_by -> Text,
    }
}

diesel::table! {
    setup_links (link_id) {
        link_id -> Text,
        request_id -> Text,
        connection_id -> Text,
        tenant_id -> Nullable<Text>,
        token_sha256 -> Bytea,
        created_at -> Timestamptz,
        created_by -> Text,
        expires_at -> Timestamptz,
        claimed_until -> Nullable<Timestamptz>,
        attempts -> Int4,
        redeemed_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        revoked_by -> Nullable<Text>,
    }
}

diesel::table! {
    setup_requests (request_id) {
        request_id -> Text,
        connection_id -> Text,
        tenant_id -> Nullable<Text>,
        purpose -> Text,
        status -> Text,
        note -> Text,
        created_at -> Timestamptz,
        created_by -> Text,
        completed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    tenants (tenant_id) {
        tenant_id -> Text,
        status -> Text,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    validations (validation_id) {
        validation_id -> Text,
        connection_id -> Text,
        tenant_id -> Nullable<Text>,
        link_id -> Text,
        outcome -> Text,
        http_status -> Nullable<Int4>,
        latency_ms -> Int4,
        models -> Int4,
        activated -> Bool,
        checked_at -> Timestamptz,
    }
}

diesel::table! {
    workspaces (workspace_id) {
        workspace_id -> Text,
        tenant_id -> Text,
        name -> Text,
        deleted_at -> Nullable<Timestamptz>,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(connections -> tenants (tenant_id));
diesel::joinable!(connector_installations -> connections (connection_id));
diesel::joinable!(connector_installations -> tenants (tenant_id));
diesel::joinable!(connector_installations -> workspaces (workspace_id));
diesel::joinable!(health_records -> connections (connection_id));
diesel::joinable!(health_records -> tenants (tenant_id));
diesel::joinable!(key_versions -> connections (connection_id));
diesel::joinable!(key_versions -> setup_links (link_id));
diesel::joinable!(key_versions -> tenants (tenant_id));
diesel::joinable!(pool_grants -> connections (connection_id));
diesel::joinable!(pool_grants -> tenants (tenant_id));
diesel::joinable!(setup_links -> connections (connection_id));
diesel::joinable!(setup_links -> setup_requests (request_id));
diesel::joinable!(setup_links -> tenants (tenant_id));
diesel::joinable!(setup_requests -> connections (connection_id));
diesel::joinable!(setup_requests -> tenants (tenant_id));
diesel::joinable!(validations -> connections (connection_id));
diesel::joinable!(validations -> setup_links (link_id));
diesel::joinable!(validations -> tenants (tenant_id));
diesel::joinable!(workspaces -> tenants (tenant_id));

diesel::allow_tables_to_appear_in_same_query!(
    connections,
    connector_installations,
    health_records,
    key_versions,
    policy_records,
    pool_grants,
    setup_links,
    setup_requests,
    tenants,
    validations,
    workspaces,
);
