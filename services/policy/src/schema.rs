// @generated automatically by Diesel CLI.

diesel::table! {
    approval_requests (request_id) {
        request_id -> Text,
        tenant_id -> Text,
        workspace_id -> Text,
        run_id -> Text,
        seq -> Int4,
        requested_by -> Nullable<Text>,
        status -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        decided_at -> Nullable<Timestamptz>,
        decided_by -> Nullable<Text>,
        reason -> Nullable<Text>,
    }
}

diesel::table! {
    notifications (notification_id) {
        notification_id -> Text,
        tenant_id -> Text,
        workspace_id -> Text,
        run_id -> Text,
        seq -> Int4,
        roles -> Array<Nullable<Text>>,
        title -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    record_versions (record_id, version) {
        record_id -> Text,
        version -> Int4,
        tenant_id -> Nullable<Text>,
        status -> Text,
        document -> Jsonb,
        created_at -> Timestamptz,
        created_by -> Text,
        published_at -> Nullable<Timestamptz>,
        published_by -> Nullable<Text>,
        reason -> Nullable<Text>,
    }
}

diesel::table! {
    records (record_id) {
        record_id -> Text,
        level -> Text,
        tenant_id -> Nullable<Text>,
        module_id -> Nullable<Text>,
        name -> Text,
        status -> Text,
        published_version -> Nullable<Int4>,
        created_at -> Timestamptz,
        created_by -> Text,
        updated_at -> Timestamptz,
        retired_at -> Nullable<Timestamptz>,
        retired_by -> Nullable<Text>,
        retired_reason -> Nullable<Text>,
    }
}

diesel::table! {
    run_steps (run_id, seq) {
        run_id -> Text,
        seq -> Int4,
        tenant_id -> Text,
        step_key -> Text,
        action_class -> Text,
        tool -> Nullable<Text>,
        module_id -> Nullable<Text>,
        gate -> Text,
        workspace_tier -> Text,
        decision -> Text,
        detail -> Jsonb,
        policy_etag -> Text,
        support -> Nullable<Jsonb>,
        status -> Text,
        decided_at -> Timestamptz,
    }
}

diesel::table! {
    runs (run_id) {
        run_id -> Text,
        tenant_id -> Text,
        workspace_id -> Text,
        subject_kind -> Text,
        subject_id -> Text,
        subject_version -> Text,
        config_version -> Nullable<Text>,
        trigger_json -> Jsonb,
        requested_by -> Nullable<Text>,
        status -> Text,
        steps -> Int4,
        reported_by -> Text,
        started_at -> Timestamptz,
        updated_at -> Timestamptz,
        ended_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    step_ends (run_id, seq) {
        run_id -> Text,
        seq -> Int4,
        tenant_id -> Text,
        provider_kind -> Nullable<Text>,
        model -> Nullable<Text>,
        connection_id -> Nullable<Text>,
        tokens_in -> Int8,
        tokens_out -> Int8,
        outcome -> Nullable<Text>,
        rollback -> Nullable<Text>,
        ended_at -> Timestamptz,
        ended_by -> Text,
    }
}

diesel::table! {
    tenants (tenant_id) {
        tenant_id -> Text,
        status -> Text,
        updated_at -> Timestamptz,
        monthly_token_budget -> Nullable<Int8>,
        enrolled_at -> Nullable<Timestamptz>,
        withdrawn_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    usage_monthly (tenant_id, month, workspace_id, module_id, provider_kind, model, connector) {
        tenant_id -> Text,
        month -> Date,
        workspace_id -> Text,
        module_id -> Text,
        provider_kind -> Text,
        model -> Text,
        connector -> Text,
        tokens_in -> Int8,
        tokens_out -> Int8,
        connector_operations -> Int8,
        events -> Int8,
    }
}

diesel::table! {
    workspaces (workspace_id) {
        workspace_id -> Text,
        tenant_id -> Text,
        approval_tier -> Text,
        data_mode -> Text,
        deleted_at -> Nullable<Timestamptz>,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(approval_requests -> tenants (tenant_id));
diesel::joinable!(approval_requests -> workspaces (workspace_id));
diesel::joinable!(notifications -> tenants (tenant_id));
diesel::joinable!(notifications -> workspaces (workspace_id));
diesel::joinable!(record_versions -> records (record_id));
diesel::joinable!(record_versions -> tenants (tenant_id));
diesel::joinable!(records -> tenants (tenant_id));
diesel::joinable!(run_steps -> runs (run_id));
diesel::joinable!(run_steps -> tenants (tenant_id));
diesel::joinable!(runs -> tenants (tenant_id));
diesel::joinable!(runs -> workspaces (workspace_id));
diesel::joinable!(step_ends -> tenants (tenant_id));
diesel::joinable!(usage_monthly -> tenants (tenant_id));
diesel::joinable!(workspaces -> tenants (tenant_id));

diesel::allow_tables_to_appear_in_same_query!(
    approval_requests,
    notifications,
    record_versions,
    records,
    run_steps,
    runs,
    step_ends,
    tenants,
    usage_monthly,
    workspaces,
);
