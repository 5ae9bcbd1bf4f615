// @generated automatically by Diesel CLI.

diesel::table! {
    deployments (module_id, image) {
        module_id -> Text,
        image -> Text,
        image_digest -> Text,
        version -> Nullable<Text>,
        drift -> Bool,
        reported_at -> Timestamptz,
        reported_by -> Text,
    }
}

diesel::table! {
    enablements (enablement_id) {
        enablement_id -> Text,
        tenant_id -> Text,
        module_id -> Text,
        workspace_id -> Text,
        version -> Text,
        status -> Text,
        acknowledged -> Array<Text>,
        revoked_at -> Nullable<Timestamptz>,
        enabled_at -> Timestamptz,
        enabled_by -> Text,
        disabled_at -> Nullable<Timestamptz>,
        disabled_by -> Nullable<Text>,
        cleanup -> Nullable<Jsonb>,
    }
}

diesel::table! {
    module_versions (version_id) {
        version_id -> Text,
        module_id -> Text,
        version -> Text,
        manifest -> Jsonb,
        manifest_sha256 -> Text,
        image_digest -> Text,
        envelope -> Nullable<Jsonb>,
        artifact_sha256 -> Nullable<Text>,
        signer_id -> Nullable<Text>,
        review_passed -> Bool,
        status -> Text,
        imported_at -> Timestamptz,
        imported_by -> Text,
        decided_at -> Nullable<Timestamptz>,
        decided_by -> Nullable<Text>,
        decision_reason -> Nullable<Text>,
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
    reviews (review_id) {
        review_id -> Text,
        version_id -> Nullable<Text>,
        module_id -> Nullable<Text>,
        version -> Nullable<Text>,
        manifest_sha256 -> Text,
        passed -> Bool,
        checks -> Jsonb,
        reviewed_at -> Timestamptz,
        reviewed_by -> Text,
    }
}

diesel::table! {
    tenants (tenant_id) {
        tenant_id -> Text,
        status -> Text,
        data_mode -> Text,
        modules -> Array<Text>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    trusted_signers (signer_id) {
        signer_id -> Text,
        identity -> Text,
        algorithm -> Text,
        key_id -> Text,
        public_key -> Text,
        sources -> Array<Text>,
        not_before -> Timestamptz,
        not_after -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        revoked_by -> Nullable<Text>,
        revoke_reason -> Nullable<Text>,
        added_at -> Timestamptz,
        added_by -> Text,
    }
}

diesel::table! {
    workspaces (workspace_id) {
        workspace_id -> Text,
        tenant_id -> Text,
        name -> Text,
        data_mode -> Text,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(enablements -> tenants (tenant_id));
diesel::joinable!(module_versions -> trusted_signers (signer_id));
diesel::joinable!(reviews -> module_versions (version_id));
diesel::joinable!(workspaces -> tenants (tenant_id));

diesel::allow_tables_to_appear_in_same_query!(
    deployments,
    enablements,
    module_versions,
    policy_records,
    reviews,
    tenants,
    trusted_signers,
    workspaces,
);
