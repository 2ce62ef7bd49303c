import ArgumentParser

/// The `hoist` command line.
@main
struct Hoist: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hoist",
        abstract: "Direct-to-storage image uploads with SigV4 pre-signed URLs.",
        discussion: """
            Hoist signs short-lived S3 URLs so clients upload straight to storage. \
            These commands sign and check AWS Signature Version 4 requests; they work \
            against AWS S3 and any S3-compatible store.
            """,
        subcommands: [ServeCommand.self, APICommand.self, WorkerCommand.self, TokenCommand.self, UploadCommand.self, StoreCommand.self, PresignCommand.self, VerifyCommand.self, IAMPolicyCommand.self, BucketCommand.self]
    )
}
