// @generated automatically by Diesel CLI.

diesel::table! {
    checklist_items (tenant_id, flow, item_key) {
        tenant_id -> Text,
        item_key -> Text,
        owner -> Text,
        state -> Text,
        reason -> Nullable<Text>,
        updated_at -> Timestamptz,
        flow -> Text,
    }
}

diesel::table! {
    entitlements (tenant_id) {
        tenant_id -> Text,
        plan -> Text,
        modules -> Array<Text>,
        api_rate_per_second -> Int4,
        max_workspaces -> Int4,
        max_provider_connections -> Int4,
        monthly_token_budget -> Int8,
        updated_at -> Timestamptz,
        updated_by -> Text,
    }
}

diesel::table! {
    offboarding_requests (tenant_id) {
        tenant_id -> Text,
        reason -> Text,
        requested_at -> Timestamptz,
        requested_by -> Text,
        completed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    onboarding_requests (tenant_id) {
        tenant_id -> Text,
        deployment_model -> Text,
        requested_modules -> Array<Text>,
        requested_packs -> Array<Text>,
        requested_at -> Timestamptz,
        requested_by -> Text,
        completed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    role_bindings (binding_id) {
        binding_id -> Text,
        tenant_id -> Text,
        workspace_id -> Nullable<Text>,
        principal_kind -> Text,
        principal -> Text,
        role -> Text,
        created_at -> Timestamptz,
        created_by -> Text,
    }
}

diesel::table! {
    tenants (tenant_id) {
        tenant_id -> Text,
        slug -> Text,
        display_name -> Text,
        region -> Text,
        status -> Text,
        deployment_model -> Text,
        data_mode -> Text,
        owner_name -> Text,
        owner_email -> Text,
        owner_phone -> Nullable<Text>,
        created_at -> Timestamptz,
        created_by -> Text,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    workspaces (workspace_id) {
        workspace_id -> Text,
        tenant_id -> Text,
        name -> Text,
        data_mode -> Text,
        retention_days -> Int4,
        write_cap_per_day -> Nullable<Int4>,
        approval_tier -> Text,
        created_at -> Timestamptz,
        created_by -> Text,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(checklist_items -> tenants (tenant_id));
diesel::joinable!(entitlements -> tenants (tenant_id));
diesel::joinable!(offboarding_requests -> tenants (tenant_id));
diesel::joinable!(onboarding_requests -> tenants (tenant_id));
diesel::joinable!(role_bindings -> tenants (tenant_id));
diesel::joinable!(role_bindings -> workspaces (workspace_id));
diesel::joinable!(workspaces -> tenants (tenant_id));

diesel::allow_tables_to_appear_in_same_query!(
    checklist_items,
    entitlements,
    offboarding_requests,
    onboarding_requests,
    role_bindings,
    tenants,
    workspaces,
);
