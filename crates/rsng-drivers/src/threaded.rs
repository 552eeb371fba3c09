//! The internal messages of syslog-ng's threaded destination workers (`LogThreadedDestWorker`)
//! about a batch that failed, in its words: the drivers that retry batches (`http()`,
//! `kafka-c()`, `amqp()`, `redis()`, `sql()`, `mqtt()`) say them alike.

use std::time::Duration;

use crate::internal;

/// The batch failed `retries` times and is dropped.
pub fn dropped(driver: &str, location: &str, worker: usize, retries: u32, batch: usize) {
    internal::error(format!(
        "Multiple failures while sending message(s) to destination, message(s) dropped; driver='{driver}', \
         location='{location}', worker_index='{worker}', retries='{retries}', batch_size='{batch}'"
    ));
}

/// The server refused the batch; it is tried again after `time_reopen`.
pub fn retrying(driver: &str, location: &str, worker: usize, retries: u32, time_reopen: Duration, batch: usize) {
    internal::error(format!(
        "Error occurred while trying to send a message, trying again; driver='{driver}', location='{location}', \
         worker_index='{worker}', retries='{retries}', time_reopen='{}', batch_size='{batch}'",
        time_reopen.as_secs()
    ));
}

/// The server is away; the batch is tried again after `time_reopen`.
pub fn reconnecting(driver: &str, location: &str, worker: usize, time_reopen: Duration, batch: usize) {
    internal::info_always(format!(
        "Server disconnected while preparing messages for sending, trying again; driver='{driver}', \
         location='{location}', worker_index='{worker}', time_reopen='{}', batch_size='{batch}'",
        time_reopen.as_secs()
    ));
}
