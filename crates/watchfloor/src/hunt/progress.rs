//! The terminal progress bar: files done, events decoded, events per second.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// Shared counters the workers bump, and the bar that shows them (hidden when off).
pub struct Progress {
    pub events: Arc<AtomicU64>,
    bar: ProgressBar,
    stop: Arc<AtomicBool>,
    ticker: Option<JoinHandle<()>>,
}

impl Progress {
    pub fn new(visible: bool, files: u64) -> Self {
        let events = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let bar = if visible {
            let bar = ProgressBar::new(files);
            let style = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} files  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar
        } else {
            ProgressBar::hidden()
        };
        let ticker = visible.then(|| {
            let (bar, events, stop) = (bar.clone(), events.clone(), stop.clone());
            std::thread::spawn(move || {
                let started = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    let n = events.load(Ordering::Relaxed);
                    let rate = n as f64 / started.elapsed().as_secs_f64().max(1e-3);
                    bar.set_message(format!("{n} events, {rate:.0} events/s"));
                    bar.tick();
                    std::thread::sleep(Duration::from_millis(200));
                }
            })
        });
        Progress {
            events,
            bar,
            stop,
            ticker,
        }
    }

    pub fn file_done(&self) {
        self.bar.inc(1);
    }

    pub fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
        self.bar.finish_and_clear();
    }
}
