//! CAM's offset-paged lists (`Offset`, `Limit`, a total): every page, however short the pages
//! the API chooses to answer.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;

use super::super::{ApiCalls, FetchError};
use super::envelope::{at_most, Num};
use super::{Session, LIST_MAX, PEOPLE_MAX};

/// Page size asked for.
const PAGE: u64 = 50;

/// One page, in any of the lists' words: `TotalNum` or `TotalCount`, `Data` or `Receivers`
/// (each list uses one; both may be there, the other empty).
#[derive(Deserialize)]
#[serde(bound = "T: DeserializeOwned", rename_all = "PascalCase")]
struct Page<T> {
    #[serde(default)]
    total_num: Num,
    #[serde(default)]
    total_count: Num,
    #[serde(default, deserialize_with = "at_most::<LIST_MAX, _, _>")]
    data: Vec<T>,
    #[serde(default, deserialize_with = "at_most::<LIST_MAX, _, _>")]
    receivers: Vec<T>,
}

impl Session<'_> {
    /// Every entry over all pages of `action`. `required` false: an account without the
    /// feature (WeCom, message receivers) answers an error; that is an empty list. `within`
    /// says whether the lists read so far are still within bounds, after each page.
    pub(super) async fn offset_pages<T: DeserializeOwned>(
        &self,
        calls: &ApiCalls,
        action: &'static str,
        required: bool,
        within: &(dyn Fn(&str) -> Result<(), FetchError> + Sync),
    ) -> Result<Vec<T>, FetchError> {
        let mut all = Vec::new();
        let mut offset = 0u64;
        loop {
            let params = json!({ "Offset": offset, "Limit": PAGE });
            let page: Page<T> = if required {
                self.required(calls, action, params).await?
            } else {
                match self.optional(calls, action, params).await? {
                    Some(v) => v,
                    None => return Ok(all),
                }
            };
            within(action)?;
            self.hold_people(page.data.len() + page.receivers.len())
                .await;
            let total = page.total_num.0.or(page.total_count.0);
            let n = (page.data.len() + page.receivers.len()) as u64;
            all.extend(page.data);
            all.extend(page.receivers);
            offset += n;
            // Stop on an empty page, or once the total is reached; a total that never comes is
            // bounded by the empty page.
            if n == 0 || total.is_some_and(|t| offset >= t) {
                return Ok(all);
            }
            if all.len() > PEOPLE_MAX {
                return Err(FetchError::invalid(
                    action,
                    format!("more than {PEOPLE_MAX} entries: paging does not end"),
                ));
            }
        }
    }
}
