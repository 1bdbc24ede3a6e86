//! Which instances are the pool's (`[provider.membership]`): the filter a
//! provider lists with, the markers it puts on what it creates so they match
//! it, and whether a match is *adopted* (matched without the `scaler-pool`
//! marker, so not known to be scaler's). Pure: the providers do the I/O.
//!
//! Every condition given is ANDed. Left out, the section means today's
//! markers: the `scaler-pool = <pool>` tag (`ec2`), the `<pool>-` name
//! prefix and `scaler-pool = <pool>` metadata (`openstack`). A filter the
//! instances scaler creates would not match is refused at load: they would
//! be invisible to the next pass and created again.

use serde::Deserialize;
use std::collections::BTreeMap;

/// The marker (EC2 tag, OpenStack metadata key) whose value is the pool
/// name on every instance scaler creates.
pub const POOL_MARKER: &str = "scaler-pool";

/// What the clean-up may do with adopted instances.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Adopt {
    /// Counted as capacity; drained and destroyed only once they have
    /// registered a gateway (replica pools: asked for termination in an
    /// answered probe).
    #[default]
    Registered,
    /// Every match is the pool's, as if scaler had created it.
    All,
}

/// Whether an instance that matched is adopted: it lacks the pool's marker
/// and the operator did not say every match is the pool's.
pub fn adopted(marker: Option<&str>, pool: &str, adopt: Adopt) -> bool {
    marker != Some(pool) && adopt != Adopt::All
}

/// `[provider.membership]` of the `ec2` provider.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ec2Membership {
    /// Tags every member carries (`DescribeInstances` filter `tag:K`).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Security group id every member is in (filter `group-id`).
    #[serde(default)]
    pub security_group: Option<String>,
    /// Subnet id every member is in (filter `subnet-id`).
    #[serde(default)]
    pub subnet: Option<String>,
    /// What the clean-up may do with adopted instances.
    #[serde(default)]
    pub adopt: Adopt,
}

/// What the `ec2` provider gives the instances it creates.
pub struct Ec2Creation<'a> {
    /// Tags besides `scaler-pool` and `Name` (`provider.tags`).
    pub tags: &'a BTreeMap<String, String>,
    /// `provider.security_group_ids`.
    pub security_group_ids: &'a [String],
    /// `provider.subnet_id`.
    pub subnet_id: Option<&'a str>,
}

impl Ec2Membership {
    /// The default filter: the `scaler-pool = <pool>` tag.
    pub fn markers(pool: &str) -> Ec2Membership {
        Ec2Membership {
            tags: [(POOL_MARKER.to_string(), pool.to_string())].into(),
            ..Ec2Membership::default()
        }
    }

    /// Refuses a filter that matches everything, or one the instances scaler
    /// creates (with `creation`) would not match. Errors name the key.
    pub fn validate(&self, pool: &str, creation: &Ec2Creation<'_>) -> Result<(), String> {
        if self.tags.is_empty() && self.security_group.is_none() && self.subnet.is_none() {
            return Err(
                "provider.membership: give tags, security_group and/or subnet (an empty filter would match every instance)"
                    .into(),
            );
        }
        let invisible = "instances scaler creates would not match the filter (they would be invisible and created again)";
        for (key, value) in &self.tags {
            let created = match key.as_str() {
                POOL_MARKER => Some(pool),
                "Name" => {
                    return Err("provider.membership.tags.Name: scaler names each instance it creates; filter on another tag".into());
                }
                _ => creation.tags.get(key).map(String::as_str),
            };
            if created.is_some_and(|c| c != value) {
                return Err(format!(
                    "provider.membership.tags.{key} = {value:?}: {invisible} ({key} = {:?} at creation)",
                    created.unwrap_or_default()
                ));
            }
        }
        if let Some(group) = &self.security_group
            && !creation.security_group_ids.contains(group)
        {
            return Err(format!(
                "provider.membership.security_group {group:?} is not in provider.security_group_ids: {invisible}"
            ));
        }
        if let Some(subnet) = &self.subnet
            && creation.subnet_id != Some(subnet.as_str())
        {
            return Err(format!(
                "provider.membership.subnet {subnet:?} is not provider.subnet_id: {invisible}"
            ));
        }
        Ok(())
    }

    /// The tags to add at creation so that created instances match (those
    /// not already in `provider.tags`; `scaler-pool` is always set).
    pub fn creation_tags(&self) -> impl Iterator<Item = (&str, &str)> {
        self.tags
            .iter()
            .filter(|(k, _)| k.as_str() != POOL_MARKER)
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The `DescribeInstances` filters, as `(name, value)` pairs.
    pub fn filters(&self) -> Vec<(String, String)> {
        let mut filters: Vec<(String, String)> = self
            .tags
            .iter()
            .map(|(k, v)| (format!("tag:{k}"), v.clone()))
            .collect();
        if let Some(group) = &self.security_group {
            filters.push(("group-id".into(), group.clone()));
        }
        if let Some(subnet) = &self.subnet {
            filters.push(("subnet-id".into(), subnet.clone()));
        }
        filters
    }

    /// Whether an instance with these tags, security groups and subnet
    /// matches (checked again on the answer: a cloud that ignores a filter
    /// still shows only the pool). An instance another pool marked is never
    /// a match.
    pub fn matches(
        &self,
        pool: &str,
        tags: &BTreeMap<String, String>,
        groups: &[String],
        subnet: Option<&str>,
    ) -> bool {
        tags.get(POOL_MARKER).is_none_or(|p| p == pool)
            && self.tags.iter().all(|(k, v)| tags.get(k) == Some(v))
            && self
                .security_group
                .as_ref()
                .is_none_or(|g| groups.contains(g))
            && self.subnet.as_deref().is_none_or(|s| subnet == Some(s))
    }
}

/// `[provider.membership]` of the `openstack` provider.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenStackMembership {
    /// Metadata every member carries (e.g. SimpleScaleVM's `group = "scaled"`).
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// The exact name of every member; scaler gives it to what it creates.
    #[serde(default)]
    pub name: Option<String>,
    /// The start of every member's name; it must start `<pool>-`.
    #[serde(default)]
    pub name_prefix: Option<String>,
    /// What the clean-up may do with adopted instances.
    #[serde(default)]
    pub adopt: Adopt,
}

impl OpenStackMembership {
    /// The default filter: the `<pool>-` prefix and `scaler-pool = <pool>`.
    pub fn markers(pool: &str) -> OpenStackMembership {
        OpenStackMembership {
            metadata: [(POOL_MARKER.to_string(), pool.to_string())].into(),
            name_prefix: Some(format!("{pool}-")),
            ..OpenStackMembership::default()
        }
    }

    /// Refuses a filter that matches everything, or one the servers scaler
    /// creates (`<pool>-…` names, or `name`; `provider.metadata` and the
    /// filter's metadata) would not match.
    pub fn validate(&self, pool: &str, metadata: &BTreeMap<String, String>) -> Result<(), String> {
        if self.metadata.is_empty() && self.name.is_none() && self.name_prefix.is_none() {
            return Err(
                "provider.membership: give metadata, name and/or name_prefix (an empty filter would match every server)"
                    .into(),
            );
        }
        if self.name.is_some() && self.name_prefix.is_some() {
            return Err("provider.membership: give name or name_prefix, not both".into());
        }
        let invisible = "servers scaler creates would not match the filter (they would be invisible and created again)";
        if let Some(name) = &self.name
            && name.trim().is_empty()
        {
            return Err("provider.membership.name must not be empty".into());
        }
        if let Some(prefix) = &self.name_prefix
            && !format!("{pool}-").starts_with(prefix.as_str())
        {
            return Err(format!(
                "provider.membership.name_prefix {prefix:?}: scaler names the servers it creates \"{pool}-…\": {invisible}"
            ));
        }
        for (key, value) in &self.metadata {
            let created = if key == POOL_MARKER {
                Some(pool)
            } else {
                metadata.get(key).map(String::as_str)
            };
            if let Some(created) = created.filter(|c| c != value) {
                return Err(format!(
                    "provider.membership.metadata.{key} = {value:?}: {invisible} ({key} = {created:?} at creation)"
                ));
            }
        }
        Ok(())
    }

    /// The name a new server gets: `name` when the filter gives one, else
    /// the pass's `<pool>-…` name.
    pub fn creation_name<'a>(&'a self, generated: &'a str) -> &'a str {
        self.name.as_deref().unwrap_or(generated)
    }

    /// Whether a server name matches the name condition.
    pub fn name_matches(&self, name: &str) -> bool {
        self.name.as_ref().is_none_or(|n| n == name)
            && self
                .name_prefix
                .as_ref()
                .is_none_or(|p| name.starts_with(p.as_str()))
    }

    /// Nova's `name` query (a regular expression), when the filter has a
    /// name condition.
    pub fn name_query(&self) -> Option<String> {
        match (&self.name, &self.name_prefix) {
            (Some(name), _) => Some(format!("^{}$", regex_escape(name))),
            (None, Some(prefix)) => Some(format!("^{}", regex_escape(prefix))),
            (None, None) => None,
        }
    }

    /// Whether a server with this name and metadata matches. A server
    /// another pool marked is never a match.
    pub fn matches(
        &self,
        pool: &str,
        name: &str,
        metadata: &dyn Fn(&str) -> Option<String>,
    ) -> bool {
        metadata(POOL_MARKER).is_none_or(|p| p == pool)
            && self.name_matches(name)
            && self
                .metadata
                .iter()
                .all(|(k, v)| metadata(k).as_deref() == Some(v.as_str()))
    }
}

/// `text` with the characters of a regular expression escaped.
fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creation<'a>(
        tags: &'a BTreeMap<String, String>,
        groups: &'a [String],
        subnet: Option<&'a str>,
    ) -> Ec2Creation<'a> {
        Ec2Creation {
            tags,
            security_group_ids: groups,
            subnet_id: subnet,
        }
    }

    #[test]
    fn ec2_filters_that_created_instances_would_miss_are_refused() {
        let none = BTreeMap::new();
        let groups = vec!["sg-1".to_string()];
        let by_group = Ec2Membership {
            security_group: Some("sg-1".into()),
            subnet: Some("subnet-1".into()),
            ..Default::default()
        };
        assert!(
            by_group
                .validate("gw", &creation(&none, &groups, Some("subnet-1")))
                .is_ok()
        );
        let e = by_group
            .validate("gw", &creation(&none, &[], Some("subnet-1")))
            .unwrap_err();
        assert!(e.contains("security_group_ids"), "{e}");
        let e = by_group
            .validate("gw", &creation(&none, &groups, None))
            .unwrap_err();
        assert!(e.contains("subnet_id"), "{e}");
        let e = Ec2Membership::default()
            .validate("gw", &creation(&none, &groups, None))
            .unwrap_err();
        assert!(e.contains("every instance"), "{e}");
        let other_pool = Ec2Membership::markers("other");
        assert!(
            other_pool
                .validate("gw", &creation(&none, &[], None))
                .is_err()
        );
        let clash: BTreeMap<String, String> = [("role".to_string(), "web".to_string())].into();
        let role = Ec2Membership {
            tags: [("role".to_string(), "gw".to_string())].into(),
            ..Default::default()
        };
        assert!(role.validate("gw", &creation(&clash, &[], None)).is_err());
        assert!(role.validate("gw", &creation(&none, &[], None)).is_ok());
        assert_eq!(role.creation_tags().collect::<Vec<_>>(), [("role", "gw")]);
    }

    #[test]
    fn ec2_matches_all_conditions_and_never_another_pools_instance() {
        let m = Ec2Membership {
            security_group: Some("sg-1".into()),
            subnet: Some("subnet-1".into()),
            ..Default::default()
        };
        let groups = vec!["sg-0".to_string(), "sg-1".to_string()];
        let none = BTreeMap::new();
        assert!(m.matches("gw", &none, &groups, Some("subnet-1")));
        assert!(!m.matches("gw", &none, &groups, Some("subnet-2")));
        assert!(!m.matches("gw", &none, &groups[..1], Some("subnet-1")));
        let theirs: BTreeMap<String, String> = [(POOL_MARKER.into(), "other".into())].into();
        assert!(!m.matches("gw", &theirs, &groups, Some("subnet-1")));
        assert_eq!(
            m.filters(),
            [
                ("group-id".to_string(), "sg-1".to_string()),
                ("subnet-id".to_string(), "subnet-1".to_string())
            ]
        );
        assert!(adopted(None, "gw", Adopt::Registered));
        assert!(!adopted(Some("gw"), "gw", Adopt::Registered));
        assert!(!adopted(None, "gw", Adopt::All));
    }

    #[test]
    fn openstack_filters_names_and_metadata() {
        let m = OpenStackMembership {
            metadata: [("group".to_string(), "scaled".to_string())].into(),
            name: Some("replica.vm".into()),
            ..Default::default()
        };
        assert!(m.validate("replicas", &BTreeMap::new()).is_ok());
        assert_eq!(m.name_query().as_deref(), Some("^replica\\.vm$"));
        assert_eq!(m.creation_name("replicas-1"), "replica.vm");
        let meta = |k: &str| (k == "group").then(|| "scaled".to_string());
        assert!(m.matches("replicas", "replica.vm", &meta));
        assert!(!m.matches("replicas", "replica-vm", &meta));
        assert!(!m.matches("replicas", "replica.vm", &|_| None));
        let clash: BTreeMap<String, String> = [("group".to_string(), "other".to_string())].into();
        assert!(m.validate("replicas", &clash).is_err());
        let prefix = OpenStackMembership {
            name_prefix: Some("web-".into()),
            ..Default::default()
        };
        assert!(prefix.validate("replicas", &BTreeMap::new()).is_err());
        assert!(
            OpenStackMembership::markers("gw")
                .validate("gw", &BTreeMap::new())
                .is_ok()
        );
        assert!(
            OpenStackMembership::default()
                .validate("gw", &BTreeMap::new())
                .is_err()
        );
    }
}
