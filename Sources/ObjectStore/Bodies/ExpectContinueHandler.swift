import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Answers `Expect: 100-continue` with an interim `100 Continue` as soon as the
/// request head arrives.
///
/// S3 clients (botocore, the AWS CLI) send `Expect: 100-continue` with every
/// PutObject and hold the body back until the 100 comes, or a second passes.
/// Without this handler every upload waited that second. And when a request is
/// refused before its body is read, the client, having had its 100, sends the
/// body anyway: the server drains it and the connection stays usable.
final class ExpectContinueHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data),
           let expect = head.headerFields[.expect], expect.lowercased() == "100-continue" {
            context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
        }
        context.fireChannelRead(data)
    }
}
