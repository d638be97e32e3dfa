//! CloudTrail's LookupEvents: the account's management events of a time range, newest first, at
//! most 50 a page and two requests a second (the SDK's retries wait out a throttle), each event's
//! record read into the lab's typed view.

use anyhow::{Context as _, Result};
use aws_sdk_cloudtrail::Client;
use aws_smithy_types::DateTime;

use crate::aws::error::aws;
use crate::model::trail::Record;

/// LookupEvents' largest page.
const PAGE: i32 = 50;

/// What a look-up found: the records, newest first, and whether pages were left unread.
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub records: Vec<Record>,
    pub truncated: bool,
}

/// The events from `start` to `end` (Unix seconds, inclusive), at most `max_pages` pages.
pub async fn lookup(client: &Client, start: i64, end: i64, max_pages: usize) -> Result<Found> {
    let mut pages = client
        .lookup_events()
        .start_time(DateTime::from_secs(start))
        .end_time(DateTime::from_secs(end))
        .max_results(PAGE)
        .into_paginator()
        .send();
    let mut found = Found::default();
    let mut read = 0;
    while let Some(page) = pages.next().await {
        let page = page.map_err(aws("LookupEvents"))?;
        for event in page.events.unwrap_or_default() {
            let Some(json) = event.cloud_trail_event else { continue };
            let record: Record = serde_json::from_str(&json).context("a CloudTrail record the lab cannot read")?;
            found.records.push(record);
        }
        read += 1;
        if read >= max_pages {
            found.truncated = page.next_token.is_some();
            break;
        }
    }
    Ok(found)
}
