import DashkeepFFI

/// Forwards each event to an AsyncStream continuation; called on a Rust thread.
final class StreamListener: CompanionListener, @unchecked Sendable {
    private let continuation: AsyncStream<CompanionEvent>.Continuation
    init(_ continuation: AsyncStream<CompanionEvent>.Continuation) { self.continuation = continuation }
    func onEvent(event: CompanionEvent) { continuation.yield(event) }
}

public extension Companion {
    /// The companion's events as an AsyncSequence: iterating registers a listener; ending the
    /// iteration (the task is cancelled, the view disappears) cancels the Rust task.
    func events() -> AsyncStream<CompanionEvent> {
        AsyncStream(bufferingPolicy: .unbounded) { continuation in
            let handle = self.subscribe(listener: StreamListener(continuation))
            continuation.onTermination = { _ in handle.cancel() }
        }
    }
}
