//! Tencent Cloud Organization (2021-03-31): the members of the organization the fetcher's
//! credentials manage, listed with `DescribeOrganizationMembers`, each fetched through
//! `--tencent.role-name` in it with its own pace (each member is its own account).

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::json;

use super::super::api::Endpoint;
use super::super::call::Pacer;
use super::super::{Account, ApiCalls, FetchError};
use super::envelope::at_most;
use super::{TencentCamFetcher, LIST_MAX};

const ACTION: &str = "DescribeOrganizationMembers";
pub const VERSION: &str = "2021-03-31";
pub const SERVICE: &str = "organization";
/// At most 50 a page (the model's `Limit`: 1~50).
const PAGE: u64 = 50;
/// The documented limit of `DescribeOrganizationMembers`: 20 calls a second.
const LISTING_PER_SECOND: u32 = 20;
/// More members than an organization holds: a listing past it is pages that never end, and
/// what the fetcher holds of the listing (an id, a name, the asked tags) stays bounded.
const MAX_MEMBERS: u64 = 100_000;
/// A member's `Name` and a kept tag's value at most, in bytes: the fetcher holds them for
/// every member, as labels. Tencent allows a name 25 characters (the SDK model's
/// `CreateOrganizationMember`) and a tag value 255.
const TEXT_MAX: usize = 1_024;

/// What `--organization` asks of the Tencent fetcher, and the pace of each account's calls.
pub struct Organization {
    pub endpoint: Endpoint,
    /// STS, where the members' roles are assumed.
    pub sts: Endpoint,
    role_name: String,
    /// `--tencent.organization-product`: the listing's `Product`, for a delegated administrator.
    product: Option<String>,
    /// The tag keys kept of each member's tags (`--organization.tag-labels`).
    tag_keys: Vec<String>,
    /// The management account's own calls: the listing and `AssumeRole`, each within its limit.
    pub listing: Pacer,
    pub assuming: Pacer,
    /// CAM's limits hold per action and account: each member's calls have their own pacer,
    /// kept across rounds (so one round's last calls count in the next one's first second).
    members: Mutex<HashMap<String, Arc<Pacer>>>,
    rate_limit: u32,
}

impl Organization {
    pub fn new(
        endpoint: Endpoint,
        sts: Endpoint,
        role_name: String,
        product: Option<String>,
        tag_keys: Vec<String>,
        rate_limit: u32,
    ) -> anyhow::Result<Organization> {
        // A role name goes into the role's ARN: CAM's own characters only.
        let allowed = |c: char| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c);
        if role_name.is_empty() || role_name.len() > 128 || !role_name.chars().all(allowed) {
            anyhow::bail!(
                "--tencent.role-name={role_name:?} is not a role name: 1 to 128 letters, digits and +=,.@_-"
            );
        }
        Ok(Organization {
            endpoint,
            sts,
            role_name,
            product,
            tag_keys,
            listing: Pacer::new(LISTING_PER_SECOND),
            assuming: Pacer::new(super::sts::ASSUME_ROLE_PER_SECOND),
            members: Mutex::new(HashMap::new()),
            rate_limit,
        })
    }

    /// The pacer of one member's CAM calls.
    pub fn pacer(&self, member: &str) -> Arc<Pacer> {
        let mut members = self.members.lock().expect("never left poisoned");
        let pacer = members.entry(member.to_owned());
        Arc::clone(pacer.or_insert_with(|| Arc::new(Pacer::new(self.rate_limit))))
    }

    /// Keeps the pacers of the members still listed.
    fn keep_pacers(&self, listed: &[Account]) {
        let ids: BTreeSet<&str> = listed.iter().map(|a| a.id.as_str()).collect();
        let mut members = self.members.lock().expect("never left poisoned");
        members.retain(|id, _| ids.contains(id.as_str()));
    }
}

/// One member as the model (`OrgMember`) has it; the fetcher reads these fields only, and
/// skips the others unread.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Member {
    member_uin: Uin,
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "at_most::<LIST_MAX, _, _>")]
    tags: Vec<Tag>,
}

/// `MemberUin`: a positive JSON integer, else what was there, told in a few words (the
/// answer's text is not echoed whole).
struct Uin(Result<u64, String>);

impl<'de> Deserialize<'de> for Uin {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Uin, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Uin;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an account id")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Uin, E> {
                Ok(Uin(Some(v).filter(|&v| v > 0).ok_or_else(|| v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Uin, E> {
                Ok(Uin(Err(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Uin, E> {
                Ok(Uin(Err(v.to_string())))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Uin, E> {
                Ok(Uin(Err(format!("{:?}", crate::report::prefix(v, 64)))))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Uin, E> {
                Ok(Uin(Err(v.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Uin, E> {
                Ok(Uin(Err("null".to_owned())))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Uin, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Uin(Err("a list".to_owned())))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Uin, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Uin(Err("an object".to_owned())))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Tag {
    tag_key: String,
    #[serde(default)]
    tag_value: Option<String>,
}

/// One page: at most [`LIST_MAX`] members (50 are asked), decoded as read.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Page {
    #[serde(default, deserialize_with = "at_most::<LIST_MAX, _, _>")]
    items: Vec<Member>,
    total: u64,
}

impl TencentCamFetcher {
    /// Every member of the organization, every page. The model has no state of a member:
    /// every member listed is one (invitations not yet accepted are not listed), so every
    /// one is active; a member without the role fails its own fetch as `access_denied`.
    pub(super) async fn members(
        &self,
        organization: &Organization,
        calls: &ApiCalls,
    ) -> Result<Vec<Account>, FetchError> {
        let mut accounts: Vec<Account> = Vec::new();
        let mut seen = BTreeSet::new();
        let mut offset = 0;
        loop {
            let mut params = json!({ "Offset": offset, "Limit": PAGE });
            if let Some(product) = &organization.product {
                params["Product"] = json!(product);
            }
            let page: Page = (self.management_call(organization, calls, ACTION, params)).await?;
            let items = page.items;
            // The next page starts after the members given, however many that was. A listing
            // that ends before its Total is refused: a member left out would have its report
            // forgotten.
            if items.is_empty() && offset < page.total {
                return Err(FetchError::invalid(
                    ACTION,
                    format!(
                        "the pages end after {offset} members, where Total says {}",
                        page.total
                    ),
                ));
            }
            offset += items.len() as u64;
            for item in items {
                let account = member(organization, item)?;
                // A member that moved between pages while they were read is listed once.
                if seen.insert(account.id.clone()) {
                    accounts.push(account);
                }
            }
            if offset >= page.total {
                break;
            }
            if offset >= MAX_MEMBERS {
                return Err(FetchError::invalid(
                    ACTION,
                    format!("more than {MAX_MEMBERS} members listed: the pages do not end"),
                ));
            }
        }
        organization.keep_pacers(&accounts);
        Ok(accounts)
    }
}

/// One listed member: its `MemberUin` must be an account id (it names a file and a role).
fn member(organization: &Organization, member: Member) -> Result<Account, FetchError> {
    let id = match member.member_uin {
        Uin(Ok(uin)) => uin.to_string(),
        Uin(Err(found)) => {
            return Err(FetchError::invalid(
                ACTION,
                format!("a MemberUin {found} is not an account id (a positive integer)"),
            ))
        }
    };
    let tags: Vec<(String, String)> = (member.tags.into_iter())
        .filter(|tag| organization.tag_keys.contains(&tag.tag_key))
        .map(|tag| (tag.tag_key, tag.tag_value.unwrap_or_default()))
        .collect();
    let name = member.name.unwrap_or_default();
    if name.len() > TEXT_MAX || tags.iter().any(|(_, value)| value.len() > TEXT_MAX) {
        return Err(FetchError::invalid(
            ACTION,
            format!("member {id}: a Name or tag value is longer than {TEXT_MAX} bytes"),
        ));
    }
    Ok(Account {
        role: Some(format!(
            "qcs::cam::uin/{id}:roleName/{}",
            organization.role_name
        )),
        id,
        name,
        tags,
        active: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn organization(tag_keys: &[&str]) -> Organization {
        let endpoint = Endpoint::parse("test", "https://organization.tencentcloudapi.com").unwrap();
        let sts = Endpoint::parse("test", "https://sts.tencentcloudapi.com").unwrap();
        let tag_keys = tag_keys.iter().map(|k| k.to_string()).collect();
        Organization::new(endpoint, sts, "Reader".to_owned(), None, tag_keys, 20).unwrap()
    }

    fn listed(item: serde_json::Value) -> Member {
        serde_json::from_value(item).unwrap()
    }

    #[test]
    fn a_member_is_its_uin_its_name_the_asked_tags_and_its_roles_arn() {
        let item = serde_json::json!({
            "MemberUin": 100000000201u64, "Name": "prod", "MemberType": "Invite",
            "Tags": [{"TagKey": "team", "TagValue": "payments"}, {"TagKey": "env", "TagValue": "p"}],
        });
        let account = member(&organization(&["team"]), listed(item)).unwrap();
        assert_eq!(account.id, "100000000201");
        assert_eq!(account.name, "prod");
        assert_eq!(account.tags, [("team".to_owned(), "payments".to_owned())]);
        assert!(account.active);
        assert_eq!(
            account.role.as_deref(),
            Some("qcs::cam::uin/100000000201:roleName/Reader")
        );
    }

    #[test]
    fn a_member_uin_that_is_not_an_account_id_fails_the_listing() {
        for uin in [
            serde_json::json!("100000000201"),
            serde_json::json!("../../etc/passwd"),
            serde_json::json!(-5),
            serde_json::json!(0),
            serde_json::json!(1.5),
            serde_json::Value::Null,
            serde_json::json!({"a": [1, 2]}),
        ] {
            let item = serde_json::json!({"MemberUin": uin, "Name": "x"});
            let e = member(&organization(&[]), listed(item)).unwrap_err();
            assert_eq!(
                e.reason,
                super::super::super::FailureReason::InvalidResponse
            );
            assert!(
                e.message
                    .starts_with("DescribeOrganizationMembers: a MemberUin"),
                "{}",
                e.message
            );
        }
        let e = serde_json::from_value::<Member>(serde_json::json!({"Name": "x"})).err();
        assert!(e.is_some_and(|e| e.to_string().contains("MemberUin")));
    }

    #[test]
    fn a_member_holds_no_more_than_the_listing_allows() {
        let o = organization(&["team"]);
        let long = "n".repeat(TEXT_MAX + 1);
        let named = serde_json::json!({"MemberUin": 7, "Name": long});
        let e = member(&o, listed(named)).unwrap_err();
        assert!(
            e.message.contains("longer than 1024 bytes"),
            "{}",
            e.message
        );
        let tagged =
            serde_json::json!({"MemberUin": 7, "Tags": [{"TagKey": "team", "TagValue": long}]});
        assert!(member(&o, listed(tagged)).is_err());
        // A tag not asked for is not held, whatever its length.
        let other =
            serde_json::json!({"MemberUin": 7, "Tags": [{"TagKey": "x", "TagValue": long}]});
        assert!(member(&o, listed(other)).unwrap().tags.is_empty());
        let tags: Vec<_> = (0..=LIST_MAX)
            .map(|_| serde_json::json!({"TagKey": "x"}))
            .collect();
        let many = serde_json::json!({"MemberUin": 7, "Tags": tags});
        assert!(serde_json::from_value::<Member>(many).is_err());
        let items: Vec<_> = (0..=LIST_MAX)
            .map(|i| serde_json::json!({"MemberUin": i + 1}))
            .collect();
        let page = serde_json::json!({"Items": items, "Total": 5000});
        let e = serde_json::from_value::<Page>(page).err().unwrap();
        assert!(e.to_string().contains("at most 1000 entries"), "{e}");
    }

    #[test]
    fn a_role_name_that_would_change_the_arn_is_refused() {
        let endpoint = || Endpoint::parse("test", "https://example.com").unwrap();
        for name in ["", "a/b", "a:b", "role name"] {
            let o = Organization::new(endpoint(), endpoint(), name.to_owned(), None, vec![], 20);
            assert!(o.is_err(), "{name:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn each_member_has_its_own_pacer_kept_while_it_is_listed() {
        let o = organization(&[]);
        let start = tokio::time::Instant::now();
        o.pacer("1").wait("ListUsers").await;
        o.pacer("2").wait("ListUsers").await;
        assert_eq!(
            start.elapsed(),
            std::time::Duration::ZERO,
            "another account"
        );
        o.pacer("1").wait("ListUsers").await;
        assert_eq!(
            start.elapsed(),
            std::time::Duration::from_millis(55),
            "the same account"
        );
        let kept = member(&o, listed(serde_json::json!({"MemberUin": 2, "Name": "b"}))).unwrap();
        o.keep_pacers(&[kept]);
        assert!(Arc::ptr_eq(&o.pacer("2"), &o.pacer("2")));
        assert_eq!(o.members.lock().unwrap().len(), 1, "member 1 left");
    }
}
