//! The pipeline's task: batches from the tracers, control API requests and ticks.
use std::time::Duration;

use anyhow::Result;

use super::Pipeline;
use crate::tracer::QueueRx;

/// Runs `pipeline` until every tracer sender is dropped, then drains it.
pub async fn run(mut rx: QueueRx, mut pipeline: Pipeline) -> Result<()> {
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut requests = pipeline.take_requests();
    loop {
        let next_request = async {
            match requests.as_mut() {
                Some(r) => r.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            Some(req) = next_request => tokio::task::block_in_place(|| pipeline.serve(req)),
            b = rx.recv() => match b {
                Some(q) => {
                    tokio::task::block_in_place(|| pipeline.handle(q.events));
                    drop(q.permit); // the queue's bytes are free once handled
                }
                None => break,
            },
            _ = tick.tick() => tokio::task::block_in_place(|| pipeline.tick()),
        }
    }
    tokio::task::block_in_place(|| pipeline.finish());
    Ok(())
}
