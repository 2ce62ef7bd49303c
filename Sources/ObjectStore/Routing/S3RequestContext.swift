import Hummingbird
import NIOCore

/// The store's request context: Hummingbird's core context, and the connection, so a handler
/// can ask for the body (`100 Continue`) once it has decided to read it.
public struct S3RequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// Sends the `100 Continue` a request with `Expect: 100-continue` waits for (see
    /// ``ExpectContinueHandler``); nothing for other requests.
    func askForBody() async {
        try? await channel.triggerUserOutboundEvent(ExpectContinueHandler.SendContinue()).get()
    }
}
