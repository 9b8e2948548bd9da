//! Work spread over every core: a folder of a thousand small reports is read in the time of
//! its largest few. Serving's reloads read so, and `check` reads, judges and renders so.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Condvar, Mutex, MutexGuard};

/// How many threads the machine runs at once.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `work` over `items` on every core, results in the order of `items`.
pub fn on_every_core<T: Sync, R: Send>(items: &[T], work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let workers = cores().min(items.len());
    if workers <= 1 {
        return items.iter().map(work).collect();
    }
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(index) else {
                            break done;
                        };
                        done.push((index, work(item)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().expect("a worker panicked"))
            .collect()
    });
    done.sort_by_key(|(index, _)| *index);
    done.into_iter().map(|(_, result)| result).collect()
}

/// `work` over `items` on every core, each result handed to `each` on the calling thread,
/// in the order of `items`, as soon as it and every one before it are done: `check` writes
/// one report's findings while the next reports are read. The workers run at most `ahead`
/// items past the oldest result not yet handed on, so however many items there are, few
/// results wait in memory. Stops at the first error of `each` and returns it.
pub fn on_every_core_in_order<T: Sync, R: Send, E>(
    items: &[T],
    ahead: usize,
    work: impl Fn(&T) -> R + Sync,
    mut each: impl FnMut(R) -> Result<(), E>,
) -> Result<(), E> {
    let workers = cores().min(items.len());
    if workers <= 1 {
        return items.iter().try_for_each(|item| each(work(item)));
    }
    let window = Window {
        state: Mutex::new(WindowState {
            next: 0,
            handed: 0,
            stop: false,
        }),
        moved: Condvar::new(),
        ahead: ahead.max(1),
        len: items.len(),
    };
    std::thread::scope(|scope| {
        let (sender, results) = mpsc::channel();
        for _ in 0..workers {
            let (sender, window, work) = (sender.clone(), &window, &work);
            scope.spawn(move || {
                // A worker that panics stops the others, so the scope ends and re-raises it.
                let _stop_on_panic = StopOnPanic(window);
                while let Some(index) = window.claim() {
                    if sender.send((index, work(&items[index]))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);
        let mut waiting = BTreeMap::new();
        let mut handed = 0;
        let mut handing = || {
            // Ends when every worker is done, whether all items were or not.
            for (index, result) in results.iter() {
                waiting.insert(index, result);
                while let Some(result) = waiting.remove(&handed) {
                    handed += 1;
                    window.handed(handed);
                    each(result)?;
                }
            }
            Ok(())
        };
        let handed = handing();
        if handed.is_err() {
            window.stop();
        }
        handed
    })
}

/// Which items the workers of [`on_every_core_in_order`] may take.
struct Window {
    state: Mutex<WindowState>,
    /// Signalled when `handed` grows or `stop` is set.
    moved: Condvar,
    ahead: usize,
    len: usize,
}

struct WindowState {
    /// The next item to work on.
    next: usize,
    /// How many results were handed on.
    handed: usize,
    stop: bool,
}

impl Window {
    fn lock(&self) -> MutexGuard<'_, WindowState> {
        // Nothing panics while holding it, so a poisoned lock still holds whole numbers.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The next item to work on, once it is within `ahead` of the results handed on;
    /// `None` when there are no more or the work stopped.
    fn claim(&self) -> Option<usize> {
        let mut state = self.lock();
        loop {
            if state.stop || state.next >= self.len {
                return None;
            }
            if state.next < state.handed + self.ahead {
                state.next += 1;
                return Some(state.next - 1);
            }
            state = self
                .moved
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    fn handed(&self, handed: usize) {
        self.lock().handed = handed;
        self.moved.notify_all();
    }

    fn stop(&self) {
        self.lock().stop = true;
        self.moved.notify_all();
    }
}

struct StopOnPanic<'a>(&'a Window);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.stop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_handed_on_in_order_and_all_of_them() {
        let items: Vec<u64> = (0..500).collect();
        let mut seen = Vec::new();
        // Uneven work, so the workers finish out of order.
        let work = |&n: &u64| {
            std::thread::sleep(std::time::Duration::from_micros((n * 7919) % 300));
            n * 2
        };
        let done: Result<(), ()> = on_every_core_in_order(&items, 4, work, |r| {
            seen.push(r);
            Ok(())
        });
        assert_eq!(done, Ok(()));
        assert_eq!(seen, items.iter().map(|n| n * 2).collect::<Vec<_>>());
        assert_eq!(on_every_core(&items, |&n| n * 2), seen);
    }

    #[test]
    fn workers_stay_within_the_window() {
        let items: Vec<usize> = (0..200).collect();
        let started = AtomicUsize::new(0);
        let mut handed = 0;
        let done: Result<(), String> = on_every_core_in_order(
            &items,
            3,
            |&n| {
                started.fetch_add(1, Ordering::SeqCst);
                n
            },
            |n| {
                handed += 1;
                // Item n + 1 was handed to `each`; at most 3 items past it may have started.
                let ahead = started.load(Ordering::SeqCst) - handed;
                match ahead <= 3 {
                    true => Ok(()),
                    false => Err(format!("{ahead} items ahead at item {n}")),
                }
            },
        );
        assert_eq!(done, Ok(()));
    }

    #[test]
    fn the_first_error_stops_the_work() {
        let items: Vec<usize> = (0..10_000).collect();
        let worked = AtomicUsize::new(0);
        let done = on_every_core_in_order(
            &items,
            8,
            |&n| {
                worked.fetch_add(1, Ordering::SeqCst);
                n
            },
            |n| if n == 20 { Err(n) } else { Ok(()) },
        );
        assert_eq!(done, Err(20));
        assert!(worked.load(Ordering::SeqCst) < 100);
    }

    #[test]
    #[should_panic]
    fn a_worker_that_panics_fails_the_whole() {
        let items: Vec<usize> = (0..1000).collect();
        let _ = on_every_core_in_order(
            &items,
            2,
            |&n| if n == 10 { panic!("item 10") } else { n },
            |_| Ok::<(), ()>(()),
        );
    }
}
