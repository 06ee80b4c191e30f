//! Plugin packages (platform-wide) and installations (tenant-scoped), on SQLite and on
//! PostgreSQL: one row per name and version, one installation per tenant and plugin, upgrade
//! and rollback, and no way to reach another tenant's installation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aoi_store::*;
use common::tenant;
use serde_json::json;

fn package(name: &str, version: &str) -> NewPluginPackage {
    NewPluginPackage {
        name: name.into(),
        version: version.into(),
        publisher: "acme".into(),
        kind: "http".into(),
        description: "d".into(),
        manifest: json!({"name": name, "version": version}),
        package: "{}".into(),
        key_id: "acme-1".into(),
        payload_sha256: "00".into(),
        uploaded_by: "user:1".into(),
    }
}

fn installation(name: &str, version: &str) -> NewPluginInstallation {
    NewPluginInstallation {
        plugin_name: name.into(),
        version: version.into(),
        config: json!({"base_url": "http://x:1"}),
        secrets: "v1:sealed".into(),
        installed_by: "user:1".into(),
    }
}

on_both!(packages_are_unique_by_name_and_version, |store| {
    store.add_plugin_package(package("tickets", "1.0.0")).await.unwrap();
    store.add_plugin_package(package("tickets", "1.1.0")).await.unwrap();
    let again = store.add_plugin_package(package("tickets", "1.0.0")).await.unwrap_err();
    assert!(matches!(&again, StoreError::Conflict { what } if what.contains("bump the version")), "{again:?}");
    let all = store.plugin_packages().await.unwrap();
    assert_eq!(all.len(), 2);
    let one = store.plugin_package("tickets", "1.1.0").await.unwrap().unwrap();
    assert_eq!(one.version, "1.1.0");
    assert!(store.plugin_package("tickets", "2.0.0").await.unwrap().is_none());
});

on_both!(installations_are_per_tenant_with_upgrade_and_rollback, |store| {
    let (_, a) = tenant(&store, "acme").await;
    let (_, b) = tenant(&store, "globex").await;
    let row = store.install_plugin(a, installation("tickets", "1.0.0")).await.unwrap();
    assert!(row.enabled);
    assert_eq!(row.previous_version, None);
    let twice = store.install_plugin(a, installation("tickets", "1.0.0")).await.unwrap_err();
    assert!(matches!(twice, StoreError::Conflict { .. }));
    // Tenant B sees nothing of A's and cannot change it.
    assert!(store.plugin_installations(b).await.unwrap().is_empty());
    assert!(store.plugin_installation(b, "tickets").await.unwrap().is_none());
    let other = store
        .change_plugin_installation(b, "tickets", InstallationChange::Enable(false))
        .await
        .unwrap_err();
    assert_eq!(other, StoreError::NotFound);
    assert_eq!(store.uninstall_plugin(b, "tickets").await.unwrap_err(), StoreError::NotFound);

    let no_previous = store
        .change_plugin_installation(a, "tickets", InstallationChange::Rollback)
        .await
        .unwrap_err();
    assert!(matches!(&no_previous, StoreError::Conflict { what } if what.contains("no previous version")));
    let up = store
        .change_plugin_installation(
            a,
            "tickets",
            InstallationChange::Upgrade {
                version: "1.1.0".into(),
                config: json!({"base_url": "http://y:2"}),
                secrets: "v1:other".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!((up.version.as_str(), up.previous_version.as_deref()), ("1.1.0", Some("1.0.0")));
    assert_eq!(up.secrets, "v1:other");
    let back = store
        .change_plugin_installation(a, "tickets", InstallationChange::Rollback)
        .await
        .unwrap();
    assert_eq!((back.version.as_str(), back.previous_version.as_deref()), ("1.0.0", Some("1.1.0")));
    let off = store
        .change_plugin_installation(a, "tickets", InstallationChange::Enable(false))
        .await
        .unwrap();
    assert!(!off.enabled);
    let json = serde_json::to_value(&off).unwrap();
    assert!(json.get("secrets").is_none(), "ciphertext is never serialized");
    store.uninstall_plugin(a, "tickets").await.unwrap();
    assert!(store.plugin_installations(a).await.unwrap().is_empty());
});
