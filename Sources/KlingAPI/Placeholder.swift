
import AsyncHTTPClient
