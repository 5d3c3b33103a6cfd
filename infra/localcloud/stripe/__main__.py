from localcloud.stripe.server import main

main()
