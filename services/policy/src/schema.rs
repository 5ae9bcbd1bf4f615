// @generated automatically by Diesel CLI.

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

diesel::joinable!(record_versions -> records (record_id));
diesel::joinable!(record_versions -> tenants (tenant_id));
diesel::joinable!(records -> tenants (tenant_id));
diesel::joinable!(usage_monthly -> tenants (tenant_id));

diesel::allow_tables_to_appear_in_same_query!(record_versions, records, tenants, usage_monthly,);
