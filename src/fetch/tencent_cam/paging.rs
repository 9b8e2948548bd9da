//! CAM's offset-paged lists (`Offset`, `Limit`, a total): every page, however short the pages
//! the API chooses to answer.

use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::super::api::json_error;
use super::super::{ApiCalls, FetchError};
use super::{number, Session};

/// Page size asked for.
const PAGE: u64 = 50;
/// A list longer than this is paging that never ends.
const MAX_ENTRIES: u64 = 10_000_000;

impl Session<'_> {
    /// Every entry of `list_field` over all pages of `action`. `required` false: an account
    /// without the feature (WeCom, message receivers) answers an error; that is an empty list.
    pub(super) async fn offset_pages<T: DeserializeOwned>(
        &self,
        calls: &ApiCalls,
        action: &'static str,
        total_field: &str,
        list_field: &str,
        required: bool,
    ) -> Result<Vec<T>, FetchError> {
        let mut all = Vec::new();
        let mut offset = 0u64;
        loop {
            let params = json!({ "Offset": offset, "Limit": PAGE });
            let page: Value = if required {
                self.required(calls, action, params).await?
            } else {
                match self.optional(calls, action, params).await? {
                    Some(v) => v,
                    None => return Ok(all),
                }
            };
            let total = page.get(total_field).and_then(number);
            let items: Vec<T> = match page.get(list_field) {
                None | Some(Value::Null) => Vec::new(),
                Some(v) => serde_json::from_value(v.clone()).map_err(|e| {
                    FetchError::invalid(
                        action,
                        format!(
                            "{list_field} is not the documented list: {}",
                            json_error(&e)
                        ),
                    )
                })?,
            };
            let n = items.len() as u64;
            all.extend(items);
            offset += n;
            // Stop on an empty page, or once the total is reached; a total that never comes is
            // bounded by the empty page.
            if n == 0 || total.is_some_and(|t| offset >= t) {
                return Ok(all);
            }
            if offset > MAX_ENTRIES {
                return Err(FetchError::invalid(
                    action,
                    "more than ten million entries: paging does not end",
                ));
            }
        }
    }
}
